"""Starts `local.moto_server` as a child process on a free loopback port and stops it again."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from local.chaos import OFF, Chaos

ROOT = Path(__file__).resolve().parents[1]
AWS_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"moto server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not start within {seconds} s")


# Services served by a moto process of their own when the stage asks for it (see moto_server).
DYNAMODB_VARIABLES = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS")


def _start(
    port: int, journal: tuple[Path, str] | None = None, chaos: Chaos = OFF
) -> subprocess.Popen[bytes]:
    options = []
    if journal:
        options = ["--journal", str(journal[0].resolve()), "--journal-table", journal[1]]
    if chaos.throttle:
        options += ["--throttle", str(chaos.throttle)]
    if chaos.transaction_conflict:
        options += ["--transaction-conflict", str(chaos.transaction_conflict)]
    return subprocess.Popen(
        [sys.executable, "-m", "local.moto_server", "--port", str(port), *options],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


@contextmanager
def moto_server(
    port: int | None = None,
    dynamodb_apart: bool = False,
    journal: tuple[Path, str] | None = None,
    chaos: Chaos = OFF,
) -> Iterator[str]:
    """Run a moto server and point this process's boto3 at it (AWS_ENDPOINT_URL and test
    credentials) for the duration; everything is restored and the servers stopped on exit.

    `dynamodb_apart` runs DynamoDB and its streams in a second moto process (reached through
    boto3's per-service endpoint variables): moto serves one request at a time per process, and
    DynamoDB carries most of a chat's calls, so the two share the machine's cores.

    `journal` (file, table name): the server that serves DynamoDB keeps that table in the file,
    every change written before it is acknowledged (local/moto_server.py, `Journal`); the table
    gets the file's items when it is created, and the file is compacted when the server stops.

    `chaos`: the server that serves DynamoDB throttles and cancels transactions at its rates."""
    port = port or free_port()
    servers = {
        f"http://127.0.0.1:{port}": _start(
            port, *((None, OFF) if dynamodb_apart else (journal, chaos))
        )
    }
    url = next(iter(servers))
    endpoints = {"AWS_ENDPOINT_URL": url}
    if dynamodb_apart:
        apart = free_port()
        servers[f"http://127.0.0.1:{apart}"] = _start(apart, journal, chaos)
        endpoints |= dict.fromkeys(DYNAMODB_VARIABLES, f"http://127.0.0.1:{apart}")
    saved = {name: os.environ.get(name) for name in (*AWS_VARIABLES, *DYNAMODB_VARIABLES)}
    for name in DYNAMODB_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(
        **endpoints,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        for server_url, server in servers.items():
            _wait_until_up(server_url, server)
        yield url
    finally:
        for server in servers.values():
            _stop(server)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

"""Starts `local.moto_server` as a child process on a free loopback port and stops it again."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from botocore.credentials import Credentials

from local.chaos import OFF, Chaos
from local.whole_file import replace_whole

ROOT = Path(__file__).resolve().parents[1]
COGNITO_KEY_FILE = "cognito-key.json"
CREDENTIALS_FILE = "aws-credentials.json"
# Servers the stage and the tests start listen on ports from here to the ephemeral range's start.
PORTS_FROM = 20000
EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
COGNITO_KEY_ENV = "CHAT_LOCAL_COGNITO_KEY"  # the file of the key the local pools sign with
AWS_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, for a server started next. Taken from below
    the kernel's ephemeral range: a port the kernel hands out for outgoing connections could be
    taken by one (this process's, or a parallel test worker's) before the server binds it."""
    low = _ephemeral_low()
    for _ in range(100):
        port = secrets.randbelow(low - PORTS_FROM) + PORTS_FROM
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between {PORTS_FROM} and {low}")


def _ephemeral_low() -> int:
    try:
        low = int(Path(EPHEMERAL_RANGE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default
    return max(low, PORTS_FROM + 1000)


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
    port: int,
    journal: tuple[Path, str] | None = None,
    chaos: Chaos = OFF,
    cognito_key: Path | None = None,
    credentials_file: Path | None = None,
) -> subprocess.Popen[bytes]:
    options = []
    if journal:
        options = ["--journal", str(journal[0].resolve()), "--journal-table", journal[1]]
    if cognito_key:
        options += ["--cognito-key", str(cognito_key.resolve())]
    if credentials_file:
        options += ["--credentials", str(credentials_file.resolve())]
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
    secrets_folder: Path | None = None,
) -> Iterator[str]:
    """Run a moto server and point this process's boto3 at it (AWS_ENDPOINT_URL and the stage's
    credentials) for the duration; everything is restored and the servers stopped on exit.

    `dynamodb_apart` runs DynamoDB and its streams in a second moto process (reached through
    boto3's per-service endpoint variables): moto serves one request at a time per process, and
    DynamoDB carries most of a chat's calls, so the two share the machine's cores.

    `journal` (file, table name): the server that serves DynamoDB keeps that table in the file,
    every change written before it is acknowledged (local/moto_server.py, `Journal`); the table
    gets the file's items when it is created, and the file is compacted when the server stops.

    `chaos`: the server that serves DynamoDB throttles and cancels transactions at its rates.

    `secrets_folder` keeps what must not be guessed: the AWS credentials (random, where moto's
    are the well-known `testing`, so nobody else signs an upload policy or a URL the stage
    checks) and the Cognito pools' signing key (never moto's bundled one; local/moto_cognito.py),
    each made the first time; without it they are made for this run alone. `COGNITO_KEY_ENV`
    names the key's file meanwhile, for tests that mint tokens as the pool would."""
    port = port or free_port()
    with ExitStack() as cleanup:
        folder = secrets_folder or Path(cleanup.enter_context(TemporaryDirectory("-moto")))
        key_file, credentials_file = folder / COGNITO_KEY_FILE, folder / CREDENTIALS_FILE
        signing = credentials(credentials_file)
        servers = {
            f"http://127.0.0.1:{port}": _start(
                port,
                *((None, OFF) if dynamodb_apart else (journal, chaos)),
                key_file,
                credentials_file,
            )
        }
        url = next(iter(servers))
        endpoints = {"AWS_ENDPOINT_URL": url}
        if dynamodb_apart:
            apart = free_port()
            servers[f"http://127.0.0.1:{apart}"] = _start(
                apart, journal, chaos, credentials_file=credentials_file
            )
            endpoints |= dict.fromkeys(DYNAMODB_VARIABLES, f"http://127.0.0.1:{apart}")
        saved = {
            name: os.environ.get(name)
            for name in (*AWS_VARIABLES, *DYNAMODB_VARIABLES, COGNITO_KEY_ENV)
        }
        for name in DYNAMODB_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(
            **endpoints,
            **signing,
            AWS_DEFAULT_REGION="us-east-1",
        )
        os.environ[COGNITO_KEY_ENV] = str(key_file)
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


def credentials(path: Path) -> dict[str, str]:
    """The AWS credentials kept in `path` (readable by its owner only), made the first time."""
    if path.exists():
        kept: dict[str, str] = json.loads(read_secret(path))
        return kept
    made = {
        "AWS_ACCESS_KEY_ID": "LOCAL" + secrets.token_hex(8).upper(),
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
    }
    replace_whole(path, json.dumps(made))
    return made


def signing_credentials(path: Path | None) -> Credentials | None:
    """The credentials kept in `path` as botocore signs with them; None without a path."""
    if path is None:
        return None
    kept = credentials(path)
    return Credentials(kept["AWS_ACCESS_KEY_ID"], kept["AWS_SECRET_ACCESS_KEY"])


def read_secret(path: Path) -> str:
    """A secret file's text, made owner-only first if it was not."""
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return path.read_text()

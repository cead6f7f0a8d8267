"""A real moto server on 127.0.0.1 for the adapter and projector tests, started and stopped here.

boto3 reaches it over HTTP through the standard AWS_ENDPOINT_URL variable, exactly as the functions
reach AWS; nothing is patched in the test process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.aws import client
from adapters.event_store import DynamoEventStore
from adapters.view_store import DynamoViewStore
from local.provision import Stage, provision

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"moto server exited with {server.returncode}")
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto server did not start")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "local.moto_server", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    saved = {
        k: os.environ.get(k)
        for k in (
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
        )
    }
    os.environ.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        _wait_until_up(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def stage(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Stage:
    """A freshly provisioned stage (its own tables and bus) for each test."""
    created = provision(f"t{uuid.uuid4().hex[:10]}")
    for name, value in created.env().items():
        monkeypatch.setenv(name, value)
    return created


@pytest.fixture
def event_store(stage: Stage) -> DynamoEventStore:
    return DynamoEventStore(stage.tables["events"], client("dynamodb"))


@pytest.fixture
def view_store(stage: Stage) -> DynamoViewStore:
    return DynamoViewStore(stage.tables["views"], client("dynamodb"))

"""A real moto server on 127.0.0.1 for the adapter and projector tests, started and stopped here.

boto3 reaches it over HTTP through the standard AWS_ENDPOINT_URL variable, exactly as the functions
reach AWS; nothing is patched in the test process.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from adapters.aws import client
from adapters.event_store import DynamoEventStore
from adapters.view_store import DynamoViewStore
from local.moto_process import moto_server
from local.provision import Stage, provision


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


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

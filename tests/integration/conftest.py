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
from adapters.tokens import CognitoVerifier
from adapters.view_store import DynamoViewStore
from local.moto_process import moto_server
from local.provision import Stage, provision
from tests.integration import http_calls
from tests.integration.pools import PASSWORD, Pool


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


@pytest.fixture
def pool(moto_endpoint: str) -> Pool:
    cognito = client("cognito-idp")
    pool_id = cognito.create_user_pool(PoolName="chat")["UserPool"]["Id"]
    app = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]
    cognito.sign_up(ClientId=app["ClientId"], Username="alice", Password=PASSWORD)
    cognito.admin_confirm_sign_up(UserPoolId=pool_id, Username="alice")
    tokens = cognito.initiate_auth(
        ClientId=app["ClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"
    jwks = f"{moto_endpoint}/{pool_id}/.well-known/jwks.json"
    return Pool(CognitoVerifier(issuer, app["ClientId"], jwks), issuer, app["ClientId"], tokens)


@pytest.fixture
def configured_pool(pool: Pool, monkeypatch: pytest.MonkeyPatch) -> Pool:
    """The pool, given to the functions that verify tokens as the topology gives it."""
    monkeypatch.setenv("COGNITO_ISSUER", pool.issuer)
    monkeypatch.setenv("COGNITO_CLIENT_ID", pool.client_id)
    monkeypatch.setenv("COGNITO_JWKS_URL", pool.verifier.jwks.uri)
    return pool


@pytest.fixture
def signed_http(stage: Stage, configured_pool: Pool) -> Iterator[None]:
    """A stage and a pool for `tests.integration.http_calls`, which calls the HTTP API function."""
    http_calls.serve(configured_pool)
    yield
    http_calls.forget()

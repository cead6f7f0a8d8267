"""A real moto server on 127.0.0.1 for the adapter and projector tests, started and stopped here.

boto3 reaches it over HTTP through the standard AWS_ENDPOINT_URL variable, exactly as the functions
reach AWS; nothing is patched in the test process.
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import moto.cognitoidp
import pytest

from adapters.aws import client
from adapters.event_store import DynamoEventStore
from adapters.tokens import CognitoVerifier
from adapters.view_store import DynamoViewStore
from local.moto_process import COGNITO_KEY_ENV, moto_server
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


PASSWORD = "Correct-horse-9"
MOTO_KEY = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"


def motos_bundled_key() -> Any:
    """The private key moto ships in its package: anyone has it, so no local pool signs with it."""
    return jwt.PyJWK(json.loads(gzip.decompress(MOTO_KEY.read_bytes()))).key


def pool_key() -> Any:
    """The private key the local pools sign with (local/moto_cognito.py), to mint tokens as the
    pool would."""
    return jwt.PyJWK(json.loads(Path(os.environ[COGNITO_KEY_ENV]).read_text())).key


@dataclass
class Pool:
    verifier: CognitoVerifier
    issuer: str
    client_id: str
    tokens: dict[str, str]


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

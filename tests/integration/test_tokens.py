"""Cognito tokens, issued by the local Cognito (moto) and verified through its JWKS over HTTP."""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import moto.cognitoidp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.aws import client
from adapters.tokens import CognitoVerifier, InvalidToken

PASSWORD = "Correct-horse-9"
MOTO_KEY = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"


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


def minted(pool: Pool, key: Any = None, **claims: Any) -> str:
    """A token signed like the pool's own (or with `key`), with some claims changed."""
    now = int(time.time())
    body = {
        "iss": pool.issuer,
        "sub": "sub-alice",
        "aud": pool.client_id,
        "token_use": "id",
        "cognito:username": "alice",
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    body = {k: v for k, v in body.items() if v is not None}
    if key is None:
        key = jwt.PyJWK(json.loads(gzip.decompress(MOTO_KEY.read_bytes()))).key
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "dummy"})


def test_the_id_and_access_tokens_of_a_signed_in_user_name_that_user(pool: Pool) -> None:
    assert pool.verifier.verify(pool.tokens["IdToken"]).user_id == "alice"
    assert pool.verifier.verify(pool.tokens["AccessToken"]).user_id == "alice"
    assert pool.verifier.verify(minted(pool)).token_use == "id"


@pytest.mark.parametrize(
    ("why", "claims", "message"),
    [
        ("expired", {"iat": 1_000, "exp": 2_000}, "expired"),
        ("another app's", {"aud": "someone-else"}, "not issued to this app"),
        (
            "another pool's",
            {"iss": "https://cognito-idp.us-east-1.amazonaws.com/other"},
            "not valid",
        ),
        ("a refresh token's use", {"token_use": "refresh"}, "not issued to this app"),
        ("no use at all", {"token_use": None}, "not valid"),
        ("no user", {"cognito:username": None}, "names no user"),
    ],
)
def test_a_token_that_fails_a_check_is_refused(
    pool: Pool, why: str, claims: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidToken, match=message):
        pool.verifier.verify(minted(pool, **claims))


def test_a_token_signed_by_anyone_but_the_pool_is_refused(pool: Pool) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(InvalidToken, match="not valid"):
        pool.verifier.verify(minted(pool, key=forger))


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_anything_that_is_not_a_token_is_refused(pool: Pool, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        pool.verifier.verify(garbage)

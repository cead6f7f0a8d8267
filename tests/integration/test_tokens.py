"""Cognito tokens, issued by the local Cognito (moto) and verified through its JWKS over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.tokens import InvalidToken
from tests.integration.pools import Pool, minted, motos_bundled_key


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


@pytest.mark.parametrize(
    "forger",
    [rsa.generate_private_key(public_exponent=65537, key_size=2048), motos_bundled_key()],
    ids=["a key of its own", "the key moto ships"],
)
def test_a_token_signed_by_anyone_but_the_pool_is_refused(pool: Pool, forger: Any) -> None:
    with pytest.raises(InvalidToken, match="not valid"):
        pool.verifier.verify(minted(pool, key=forger))


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_anything_that_is_not_a_token_is_refused(pool: Pool, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        pool.verifier.verify(garbage)

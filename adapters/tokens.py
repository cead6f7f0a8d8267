"""Verifies Cognito JWTs: signature through the pool's JWKS, issuer, expiry, use and client."""

from __future__ import annotations

import os
from typing import Any, Final

import jwt
import msgspec

from domain.errors import DomainError

JWKS_CACHE_S: Final = 3600
LEEWAY_S: Final = 5


class InvalidToken(DomainError):
    code = "unauthorized"


class Identity(msgspec.Struct, frozen=True):
    user_id: str  # the Cognito username: what the chat knows people by
    sub: str
    token_use: str


class CognitoVerifier:
    def __init__(self, issuer: str, client_id: str, jwks_url: str | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.jwks = jwt.PyJWKClient(
            jwks_url or f"{self.issuer}/.well-known/jwks.json",
            cache_keys=True,
            lifespan=JWKS_CACHE_S,
            timeout=5,
        )

    def verify(self, token: str) -> Identity:
        """The signed-in user, or InvalidToken saying why not (never which check passed)."""
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("the token has expired; sign in again") from error
        except (jwt.PyJWTError, jwt.PyJWKClientError) as error:
            raise InvalidToken("the token is not valid") from error
        use = claims["token_use"]
        audience = claims.get("aud") if use == "id" else claims.get("client_id")
        if use not in ("id", "access") or audience != self.client_id:
            raise InvalidToken("the token was not issued to this app")
        user = claims.get("cognito:username") if use == "id" else claims.get("username")
        if not user:
            raise InvalidToken("the token names no user")
        return Identity(str(user), str(claims["sub"]), str(use))


def verifier_from_environment() -> CognitoVerifier:
    """The stage pool's verifier, from what the topology gives a function that `verifies_tokens`."""
    return CognitoVerifier(
        os.environ["COGNITO_ISSUER"],
        os.environ["COGNITO_CLIENT_ID"],
        os.environ.get("COGNITO_JWKS_URL") or None,
    )

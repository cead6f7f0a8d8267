"""A Cognito user pool of the local stage, as the tests see it: its verifier, and tokens minted
as it signs them (or as a forger would)."""

from __future__ import annotations

import gzip
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import moto.cognitoidp

from adapters.tokens import CognitoVerifier
from local.moto_process import COGNITO_KEY_ENV

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
        key = pool_key()
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "dummy"})

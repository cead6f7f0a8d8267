"""moto's Cognito, signing with a key of the stage's own.

moto signs every pool's tokens with one RSA key shipped inside its package, and serves the
matching public key as each pool's JWKS: anyone with moto installed could sign a token for any
user, and the local stage would take it. Here the pools sign with a key made for the stage (kept in
its state folder, so tokens survive a restart; made afresh for a server without one), and the JWKS
serves that key's public half alone, so a token signed with moto's key fails the signature check.
moto names its key "dummy" in every token's header, and so the stage's key is named too.

A user created with a password hash (local/password_hash.py: how the stage brings its users back
after a restart without keeping their passwords) signs in with the password that was hashed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joserfc import jwk
from moto.cognitoidp.models import CognitoIdpUser, CognitoIdpUserPool
from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse

from local.moto_process import read_secret
from local.password_hash import MARK, matches
from local.whole_file import replace_whole

KEY_ID = "dummy"  # the kid moto writes into every token's header
KEY_BITS = 2048


def signing_key(path: Path | None) -> jwk.RSAKey:
    """The key in `path`, made (and kept there, readable by its owner only) when there is none;
    a fresh one when no path is given."""
    if path is not None and path.exists():
        return jwk.RSAKey.import_key(json.loads(read_secret(path)))
    key = jwk.RSAKey.generate_key(KEY_BITS, parameters={"kid": KEY_ID, "alg": "RS256"})
    if path is not None:
        replace_whole(path, json.dumps(key.as_dict(private=True)))
    return key


def public_jwks(key: jwk.RSAKey) -> bytes:
    public = {**key.as_dict(private=False), "kid": KEY_ID, "alg": "RS256", "use": "sig"}
    return json.dumps({"keys": [public]}).encode()


def _signing_with(key: jwk.RSAKey) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def patch(init: Callable[..., None]) -> Callable[..., None]:
        def __init__(self: CognitoIdpUserPool, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            self.json_web_key = key

        return __init__

    return patch


class _Hash(str):
    """A user's password kept as its hash: moto compares the stored password with the one given
    (`user.password != password`), and this compares by checking the given one against the hash."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and matches(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = str.__hash__


def _hashes_kept(init: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: CognitoIdpUser, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if isinstance(self.password, str) and self.password.startswith(MARK):
            self.password = _Hash(self.password)

    return __init__


def cognito_patches(key: jwk.RSAKey) -> tuple[tuple[Any, str, Callable[[Any], Any]], ...]:
    return (
        (CognitoIdpUserPool, "__init__", _signing_with(key)),
        (CognitoIdpUser, "__init__", _hashes_kept),
        (CognitoIdpJsonWebKeyResponse, "json_web_key", lambda _: public_jwks(key)),
    )

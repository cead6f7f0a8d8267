"""Passwords the local stage keeps to bring its users back after a restart, kept as scrypt hashes,
never in the clear. The local pool takes a hash where a password goes (local/moto_cognito.py
checks a sign-in against it), so a restored user signs in with the password they chose."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

MARK: Final = "Local-Scrypt-v1$"  # meets any pool policy: upper and lower case, a number, a symbol
_COST: Final = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hashed(password: str) -> str:
    """82 characters: within the 99 a pool takes as a password."""
    salt = secrets.token_bytes(16)
    return f"{MARK}{_text(salt)}${_text(_digest(password, salt))}"


def matches(stored: str, password: str) -> bool:
    try:
        salt, digest = (_bytes(part) for part in stored.removeprefix(MARK).split("$"))
    except ValueError:
        return False
    return hmac.compare_digest(_digest(password, salt), digest)


def _digest(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, **_COST)


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

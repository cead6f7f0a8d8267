"""Stream names and the deterministic id of a direct-message room."""

from __future__ import annotations

import hashlib

ROOM_PREFIX = "room#"
DM_PREFIX = "dm-"
USER_PREFIX = "user#"


def room_stream(room_id: str) -> str:
    return ROOM_PREFIX + room_id


def user_stream(user_id: str) -> str:
    return USER_PREFIX + user_id


def stream_entity(stream: str) -> str:
    """`room#abc` -> `abc`."""
    return stream.partition("#")[2]


def dm_room_id(a: str, b: str) -> str:
    """The same pair of users always gets the same DM room, whoever opens it first.

    A digest (not the raw ids) keeps the id short and fixed-size; being deterministic, it makes
    opening a DM idempotent without any lookup table.
    """
    low, high = sorted((a, b))
    digest = hashlib.blake2b(f"{low}\x00{high}".encode(), digest_size=12).hexdigest()
    return DM_PREFIX + digest

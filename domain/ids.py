"""Stream names and the deterministic id of a direct-message room."""

from __future__ import annotations

import hashlib

ROOM_PREFIX = "room#"
DM_PREFIX = "dm-"
READ_PREFIX = "read#"


def room_stream(room_id: str) -> str:
    return ROOM_PREFIX + room_id


def reader_stream(user_id: str, room_id: str) -> str:
    """One small stream per reader and room: its head is a single marker, however many rooms the
    reader belongs to."""
    return f"{READ_PREFIX}{user_id}#{room_id}"


def reader_of(stream: str) -> tuple[str, str]:
    """`read#<user>#<room>` -> (user, room); ids never contain '#'."""
    _, user_id, room_id = stream.split("#", 2)
    return user_id, room_id


def stream_entity(stream: str) -> str:
    """`room#abc` -> `abc`."""
    return stream.partition("#")[2]


def room_of_stream(stream: str) -> str:
    """`room#abc` -> `abc`: the room a room stream (or a view row keyed by it) belongs to."""
    return stream[len(ROOM_PREFIX) :]


def is_room_stream(stream: str) -> bool:
    return stream.startswith(ROOM_PREFIX)


# The events table's bookkeeping items (sk = 0) beside the streams' heads.
def membership_item(room_id: str, user_id: str) -> str:
    """Present while `user_id` belongs to the room."""
    return f"member#{room_id}#{user_id}"


def tombstone_item(room_id: str, seq: int) -> str:
    """The message at `seq` was deleted."""
    return f"tomb#{room_id}#{seq}"


def command_item(key: str) -> str:
    """What a command with a client id did (`<actor>#<client id>`)."""
    return "cmd#" + key


def dm_room_id(a: str, b: str) -> str:
    """The same pair of users always gets the same DM room, whoever opens it first.

    A digest (not the raw ids) keeps the id short and fixed-size; being deterministic, it makes
    opening a DM idempotent without any lookup table.
    """
    low, high = sorted((a, b))
    digest = hashlib.blake2b(f"{low}\x00{high}".encode(), digest_size=12).hexdigest()
    return DM_PREFIX + digest

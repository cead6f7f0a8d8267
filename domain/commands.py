"""Commands: what a user asks for. Ids they need (room id, command id) are chosen by the caller."""

from __future__ import annotations

import msgspec

from domain.events import Attachment


class _Command(msgspec.Struct, frozen=True, tag_field="action"):
    pass


class CreateRoom(_Command, frozen=True, tag="create_room"):
    room_id: str
    name: str
    members: tuple[str, ...] = ()


class OpenDm(_Command, frozen=True, tag="open_dm"):
    peer: str


class Invite(_Command, frozen=True, tag="invite"):
    room_id: str
    user_id: str


class Leave(_Command, frozen=True, tag="leave"):
    room_id: str


class Send(_Command, frozen=True, tag="send"):
    room_id: str
    text: str
    client_id: str = ""
    attachments: tuple[Attachment, ...] = ()


class Edit(_Command, frozen=True, tag="edit"):
    room_id: str
    seq: int
    text: str


class Delete(_Command, frozen=True, tag="delete"):
    room_id: str
    seq: int


class MarkRead(_Command, frozen=True, tag="read"):
    room_id: str
    seq: int


RoomCommand = CreateRoom | OpenDm | Invite | Leave | Send | Edit | Delete
Command = RoomCommand | MarkRead

_encoder = msgspec.json.Encoder()


def fingerprint(command: Command) -> bytes:
    """Canonical bytes of a command, to tell a true retry from a reused idempotency key."""
    return _encoder.encode(command)

"""Commands: what a user asks for, exactly as the HTTP bodies and WebSocket frames carry it.

One family from the wire to the domain: a frame or a body decodes straight into one of these
(`application.wire`), and the API documents are generated from them. The tag (`action`) is the
WebSocket route key. Values a route takes from its path (a room id, a seq) are fields like any
other; values the server chooses are named in `ASSIGNED` and never accepted from a client.

`client_id` is the caller's id for the command: it comes back in the acknowledgement. For the
commands in `RECORDED` it is also an idempotency key: sent again with the same `client_id`, the
command is answered with its original outcome and writes nothing. The others are safe to repeat
as they are (opening a DM, deleting, reading and leaving change nothing the second time; an edit
sets the same text again).
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from domain.events import Attachment


class _Input(msgspec.Struct, frozen=True, tag_field="action", forbid_unknown_fields=True):
    # Fields the server fills in: a client that names one is refused.
    ASSIGNED: ClassVar[tuple[str, ...]] = ()


class CreateRoom(_Input, frozen=True, tag="create_room"):
    # Chosen by the service: derived from the client id, so that a retry finds the same room.
    room_id: str
    name: str
    members: tuple[str, ...] = ()
    client_id: str = ""
    ASSIGNED: ClassVar[tuple[str, ...]] = ("room_id",)


class OpenDm(_Input, frozen=True, tag="open_dm"):
    peer: str
    client_id: str = ""


class Invite(_Input, frozen=True, tag="invite"):
    room_id: str
    user_id: str
    client_id: str = ""


class Leave(_Input, frozen=True, tag="leave"):
    room_id: str
    client_id: str = ""


class Send(_Input, frozen=True, tag="send"):
    room_id: str
    text: str = ""
    client_id: str = ""
    attachments: tuple[Attachment, ...] = ()


class Edit(_Input, frozen=True, tag="edit"):
    room_id: str
    seq: int
    text: str
    client_id: str = ""


class Delete(_Input, frozen=True, tag="delete"):
    room_id: str
    seq: int
    client_id: str = ""


class MarkRead(_Input, frozen=True, tag="read"):
    room_id: str
    seq: int
    client_id: str = ""


class Typing(_Input, frozen=True, tag="typing"):
    """An ephemeral signal: checked like a command, sent to the room, never in the log."""

    room_id: str


class RequestUpload(_Input, frozen=True, tag="upload"):
    """A form to upload one file to a room's storage, which S3 itself holds to these values."""

    room_id: str
    name: str
    content_type: str
    size: int


RoomCommand = CreateRoom | OpenDm | Invite | Leave | Send | Edit | Delete
Command = RoomCommand | MarkRead
# Everything a client may ask for, logged or not.
Input = Command | Typing | RequestUpload
COMMANDS: tuple[type[_Input], ...] = (
    CreateRoom,
    OpenDm,
    Invite,
    Leave,
    Send,
    Edit,
    Delete,
    MarkRead,
)
INPUTS: tuple[type[_Input], ...] = (*COMMANDS, Typing, RequestUpload)
RECORDED: tuple[type[_Input], ...] = (CreateRoom, Invite, Send)

_encoder = msgspec.json.Encoder()


def action_of(kind: type[msgspec.Struct]) -> str:
    """The tag of an input type: its WebSocket action and the name routes refer to it by."""
    tag = kind.__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f"{kind.__name__} has no action tag")
    return tag


def fingerprint(command: Command) -> bytes:
    """Canonical bytes of a command, to tell a true retry from a reused idempotency key."""
    return _encoder.encode(command)


def fingerprint_before_client_ids(command: Command) -> bytes:
    """The fingerprint a command had before every command carried `client_id` (a room's creation
    and an invitation did not), which records written then still hold. Command records expire
    after 7 days: drop this after 2026-12-03."""
    fields = msgspec.to_builtins(command)
    if not isinstance(command, Send):
        del fields["client_id"]
    return _encoder.encode(fields)

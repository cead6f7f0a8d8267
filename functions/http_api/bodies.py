"""Request bodies of the HTTP API, decoded and checked by msgspec in one pass."""

from __future__ import annotations

import msgspec

from domain.events import Attachment


class _Body(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class CreateRoomBody(_Body, frozen=True):
    name: str
    members: tuple[str, ...] = ()
    client_id: str = ""


class OpenDmBody(_Body, frozen=True):
    peer: str


class InviteBody(_Body, frozen=True):
    user_id: str
    client_id: str = ""


class SendBody(_Body, frozen=True):
    text: str = ""
    client_id: str = ""
    attachments: tuple[Attachment, ...] = ()


class EditBody(_Body, frozen=True):
    text: str


class ReadBody(_Body, frozen=True):
    seq: int


class UploadBody(_Body, frozen=True):
    name: str
    content_type: str
    size: int

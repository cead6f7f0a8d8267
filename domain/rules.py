"""Input policies shared by the decisions: ids, names, texts and attachments."""

from __future__ import annotations

from domain import limits
from domain.errors import InvalidInput, TooLarge
from domain.events import Attachment


def attachment_prefix(room_id: str) -> str:
    """Files of a room are stored under this prefix, so a message cites only its room's files."""
    return f"rooms/{room_id}/"


def check_id(value: str, what: str) -> str:
    if not value or len(value) > limits.MAX_ID_CHARS:
        raise InvalidInput(f"{what} must be 1 to {limits.MAX_ID_CHARS} characters")
    if "#" in value or not value.isprintable() or value != value.strip():
        raise InvalidInput(f"{what} may not contain '#', spaces at its ends or control characters")
    return value


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("a room needs a name")
    if len(name) > limits.MAX_NAME_CHARS:
        raise TooLarge(f"a room name is at most {limits.MAX_NAME_CHARS} characters")
    return name


def check_text(text: str, *, has_attachments: bool) -> str:
    if len(text) > limits.MAX_TEXT_CHARS:
        raise TooLarge(f"a message is at most {limits.MAX_TEXT_CHARS} characters")
    if not text.strip() and not has_attachments:
        raise InvalidInput("a message needs text or an attachment")
    return text


def check_attachments(room_id: str, attachments: tuple[Attachment, ...]) -> None:
    if len(attachments) > limits.MAX_ATTACHMENTS:
        raise TooLarge(f"a message carries at most {limits.MAX_ATTACHMENTS} attachments")
    prefix = attachment_prefix(room_id)
    for attachment in attachments:
        if not attachment.key.startswith(prefix) or ".." in attachment.key:
            raise InvalidInput("an attachment must be a file uploaded to this room")
        if attachment.size < 0:
            raise InvalidInput("an attachment's size cannot be negative")

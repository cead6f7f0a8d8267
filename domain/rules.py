"""Input policies shared by the decisions: ids, names, texts and attachments."""

from __future__ import annotations

from domain import limits
from domain.commands import Command, Delete, Edit, Invite, MarkRead, OpenDm, fingerprint
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


def _encodable(text: str, what: str) -> str:
    """Lone surrogates (which JSON can carry) cannot be stored as UTF-8: refuse them here."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInput(f"{what} is not valid Unicode text") from error
    return text


def check_seq(seq: int, what: str = "a seq") -> int:
    """Keep seqs where keys and JSON numbers stay exact; the rules handle what is merely absent."""
    if abs(seq) > limits.MAX_SEQ:
        raise InvalidInput(f"{what} must be at most {limits.MAX_SEQ}")
    return seq


def check_name(name: str) -> str:
    name = _encodable(name, "a room name").strip()
    if not name:
        raise InvalidInput("a room needs a name")
    if len(name) > limits.MAX_NAME_CHARS:
        raise TooLarge(f"a room name is at most {limits.MAX_NAME_CHARS} characters")
    return name


def check_text(text: str, *, has_attachments: bool) -> str:
    if len(text) > limits.MAX_TEXT_CHARS:
        raise TooLarge(f"a message is at most {limits.MAX_TEXT_CHARS} characters")
    _encodable(text, "a message")
    if not text.strip() and not has_attachments:
        raise InvalidInput("a message needs text or an attachment")
    return text


def check_attachments(room_id: str, attachments: tuple[Attachment, ...]) -> None:
    if len(attachments) > limits.MAX_ATTACHMENTS:
        raise TooLarge(f"a message carries at most {limits.MAX_ATTACHMENTS} attachments")
    prefix = attachment_prefix(room_id)
    for attachment in attachments:
        key = _encodable(attachment.key, "an attachment key")
        if not key.startswith(prefix) or ".." in key or len(key) > limits.MAX_FILE_KEY_CHARS:
            raise InvalidInput("an attachment must be a file uploaded to this room")
        if attachment.size < 0:
            raise InvalidInput("an attachment's size cannot be negative")
        if attachment.size > limits.MAX_UPLOAD_BYTES:
            raise TooLarge(f"a file is at most {limits.MAX_UPLOAD_BYTES} bytes")
        name = _encodable(attachment.name, "a file name")
        if not name.strip() or len(name) > limits.MAX_FILE_NAME_CHARS:
            raise InvalidInput(f"a file name is 1 to {limits.MAX_FILE_NAME_CHARS} characters")
        # Only types an upload may have: a message cannot call a stored file a page.
        if attachment.content_type not in limits.ALLOWED_CONTENT_TYPES:
            raise InvalidInput(f"files of type {attachment.content_type!r} cannot be shared")


def check_upload(room_id: str, file_id: str, content_type: str, size: int) -> str:
    """The key a new upload gets, if its type and size may be shared in a room."""
    check_id(file_id, "a file id")
    if content_type not in limits.ALLOWED_CONTENT_TYPES:
        raise InvalidInput(f"files of type {content_type!r} cannot be shared")
    if size <= 0:
        raise InvalidInput("a file cannot be empty")
    if size > limits.MAX_UPLOAD_BYTES:
        raise TooLarge(f"a file is at most {limits.MAX_UPLOAD_BYTES} bytes")
    return attachment_prefix(room_id) + file_id


def check_command(command: Command) -> None:
    """What must hold before any storage is asked about a command: ids and seqs in range, and
    text that can be stored (lone surrogates, which JSON can carry, cannot be encoded)."""
    try:
        fingerprint(command)
    except UnicodeEncodeError as error:
        raise InvalidInput("text must be valid Unicode") from error
    if isinstance(command, OpenDm):
        check_id(command.peer, "a user id")
    else:
        check_id(command.room_id, "a room id")
    if isinstance(command, Invite):
        check_id(command.user_id, "a user id")
    if isinstance(command, Edit | Delete | MarkRead):
        check_seq(command.seq)

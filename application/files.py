"""Files of a room: a form to upload one, and a short-lived link to one, for members only."""

from __future__ import annotations

from typing import Any

from application.ports import EventStore, FileStore
from application.queries import room_for_member
from domain.commands import RequestUpload
from domain.events import Attachment
from domain.limits import DOWNLOAD_EXPIRES_S, UPLOAD_EXPIRES_S
from domain.rules import attachment_prefix, check_attachments, check_id, check_upload


def authorize_upload(
    store: EventStore, files: FileStore, user_id: str, request: RequestUpload, file_id: str
) -> dict[str, Any]:
    """A presigned form for one file under the room's prefix (storage itself refuses another
    key, type or a larger size) and the `attachment` a message then cites."""
    room_for_member(store, request.room_id, user_id)
    key = check_upload(request.room_id, file_id, request.content_type, request.size)
    attachment = Attachment(key, request.name, request.content_type, request.size)
    check_attachments(request.room_id, (attachment,))
    form = files.upload_form(key, request.content_type, request.size, UPLOAD_EXPIRES_S)
    return {**form, "attachment": attachment, "expires_in": UPLOAD_EXPIRES_S}


def download_link(
    store: EventStore,
    files: FileStore,
    user_id: str,
    room_id: str,
    file_id: str,
    name: str | None = None,
) -> str:
    """A short-lived URL of a room's file for a member; nobody else learns whether it exists."""
    room_for_member(store, room_id, user_id)
    check_id(file_id, "a file id")
    return files.download_url(attachment_prefix(room_id) + file_id, DOWNLOAD_EXPIRES_S, name)

"""HTTP API: the routes of the public API (docs/architecture.md, design section 4).

The caller comes from the JWT authorizer's claims; every error is `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import os
from functools import cache
from http import HTTPStatus
from typing import Any, TypeVar

import msgspec
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.aws import table_name
from adapters.event_store import DynamoEventStore
from adapters.files import S3Files
from adapters.view_store import DynamoViewStore
from application.queries import events_after, room_for_member
from application.service import ChatService, Outcome, new_id
from domain.errors import DomainError
from domain.events import Attachment
from domain.limits import DOWNLOAD_EXPIRES_S, UPLOAD_EXPIRES_S
from domain.public import detail
from domain.rules import attachment_prefix, check_attachments, check_id, check_upload
from functions.http_api.bodies import (
    CreateRoomBody,
    EditBody,
    InviteBody,
    OpenDmBody,
    ReadBody,
    SendBody,
    UploadBody,
)
from functions.http_api.openapi import document

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "http-api"))
app = APIGatewayHttpResolver()

STATUS: dict[str, HTTPStatus] = {
    "invalid": HTTPStatus.BAD_REQUEST,
    "invalid_json": HTTPStatus.BAD_REQUEST,
    "unauthorized": HTTPStatus.UNAUTHORIZED,
    "not_a_member": HTTPStatus.FORBIDDEN,
    "not_author": HTTPStatus.FORBIDDEN,
    "room_not_found": HTTPStatus.NOT_FOUND,
    "message_not_found": HTTPStatus.NOT_FOUND,
    "not_found": HTTPStatus.NOT_FOUND,
    "message_deleted": HTTPStatus.CONFLICT,
    "already_member": HTTPStatus.CONFLICT,
    "room_exists": HTTPStatus.CONFLICT,
    "dm_rule": HTTPStatus.CONFLICT,
    "room_full": HTTPStatus.CONFLICT,
    "idempotency_key_reused": HTTPStatus.CONFLICT,
    "too_large": HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    "busy": HTTPStatus.TOO_MANY_REQUESTS,
}

Body = TypeVar("Body", bound=msgspec.Struct)


class Unauthorized(DomainError):
    code = "unauthorized"


class InvalidJson(DomainError):
    code = "invalid_json"


@cache
def _files() -> S3Files:
    return S3Files(os.environ["FILES_BUCKET"], upload_url=os.environ.get("FILES_UPLOAD_URL"))


@cache
def _stores() -> tuple[DynamoEventStore, DynamoViewStore, ChatService]:
    events = DynamoEventStore(table_name("EVENTS_TABLE"))
    return events, DynamoViewStore(table_name("VIEWS_TABLE")), ChatService(events)


def caller() -> str:
    """The user the JWT authorizer vouched for: Cognito's username claim."""
    claims = app.current_event.request_context.authorizer.jwt_claim or {}
    user = claims.get("cognito:username") or claims.get("username")
    if not user:
        raise Unauthorized("a signed-in user is required")
    return str(user)


def body(kind: type[Body]) -> Body:
    raw = app.current_event.decoded_body or "{}"
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as error:
        raise DomainError(f"the request body is not valid: {error}") from error
    except msgspec.DecodeError as error:
        raise InvalidJson("the request body is not valid JSON") from error


def query_int(name: str) -> int | None:
    value = app.current_event.get_query_string_value(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as error:
        raise DomainError(f"{name} must be a whole number") from error


def path_seq(seq: str) -> int:
    try:
        return int(seq)
    except ValueError as error:
        raise DomainError("a message is addressed by its seq, a whole number") from error


def reply(payload: Any, status: HTTPStatus = HTTPStatus.OK) -> Response[Any]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=msgspec.json.encode(payload).decode(),
    )


def written(outcome: Outcome, created: bool = False) -> Response[Any]:
    status = HTTPStatus.CREATED if created and not outcome.duplicate else HTTPStatus.OK
    return reply(
        {
            "room_id": outcome.room_id,
            "seq": outcome.seq,
            "duplicate": outcome.duplicate,
            "events": [detail(e) for e in outcome.events],
        },
        status,
    )


class NoRoute(DomainError):
    code = "not_found"


def refused(error: DomainError) -> Response[Any]:
    status = STATUS.get(error.code, HTTPStatus.BAD_REQUEST)
    return reply({"error": {"code": error.code, "message": error.message}}, status)


def no_route(_: Exception) -> Response[Any]:
    return refused(NoRoute("there is no such route"))


app.exception_handler(DomainError)(refused)
app.not_found(no_route)


# --- routes -----------------------------------------------------------------------------------


@app.get("/openapi.json")
def openapi() -> Response[Any]:
    return reply(document())


@app.get("/me")
def me() -> Response[Any]:
    return reply({"user_id": caller()})


@app.get("/rooms")
def inbox() -> Response[Any]:
    _, views, _ = _stores()
    return reply({"rooms": views.inbox(caller())})


@app.post("/rooms")
def create_room() -> Response[Any]:
    request = body(CreateRoomBody)
    chat = _stores()[2]
    return written(
        chat.create_room(caller(), request.name, request.members, request.client_id), True
    )


@app.post("/dms")
def open_dm() -> Response[Any]:
    outcome = _stores()[2].open_dm(caller(), body(OpenDmBody).peer)
    return written(outcome, created=bool(outcome.events))


@app.get("/rooms/<room_id>")
def room(room_id: str) -> Response[Any]:
    events, views, _ = _stores()
    state = room_for_member(events, room_id, caller())
    row = views.room(room_id) or {}
    return reply(
        {
            "room_id": room_id,
            "kind": state.kind,
            "name": state.name,
            "seq": state.version,
            "member_count": state.member_count,
            "members": sorted(views.members(room_id)),
            "last_activity": row.get("last_activity"),
        }
    )


@app.post("/rooms/<room_id>/members")
def invite(room_id: str) -> Response[Any]:
    request = body(InviteBody)
    outcome = _stores()[2].invite(caller(), room_id, request.user_id, request.client_id)
    return written(outcome, True)


@app.delete("/rooms/<room_id>/members/me")
def leave(room_id: str) -> Response[Any]:
    return written(_stores()[2].leave(caller(), room_id))


@app.get("/rooms/<room_id>/messages")
def history(room_id: str) -> Response[Any]:
    events, views, _ = _stores()
    room_for_member(events, room_id, caller())
    limit = query_int("limit") or 50
    messages = views.messages(room_id, before=query_int("before"), limit=limit)
    return reply({"messages": messages})


@app.get("/rooms/<room_id>/events")
def catch_up(room_id: str) -> Response[Any]:
    events = _stores()[0]
    room_for_member(events, room_id, caller())
    return reply({"events": events_after(events, room_id, query_int("after") or 0)})


@app.post("/rooms/<room_id>/messages")
def send(room_id: str) -> Response[Any]:
    request = body(SendBody)
    chat = _stores()[2]
    outcome = chat.send(caller(), room_id, request.text, request.client_id, request.attachments)
    return written(outcome, True)


@app.patch("/rooms/<room_id>/messages/<seq>")
def edit(room_id: str, seq: str) -> Response[Any]:
    return written(_stores()[2].edit(caller(), room_id, path_seq(seq), body(EditBody).text))


@app.delete("/rooms/<room_id>/messages/<seq>")
def delete(room_id: str, seq: str) -> Response[Any]:
    return written(_stores()[2].delete(caller(), room_id, path_seq(seq)))


@app.post("/rooms/<room_id>/read")
def mark_read(room_id: str) -> Response[Any]:
    return written(_stores()[2].mark_read(caller(), room_id, body(ReadBody).seq))


@app.post("/rooms/<room_id>/uploads")
def upload(room_id: str) -> Response[Any]:
    """A presigned POST for one file: S3 itself refuses another key, type or a larger size."""
    request = body(UploadBody)
    room_for_member(_stores()[0], room_id, caller())
    attachment = Attachment("", request.name, request.content_type, request.size)
    key = check_upload(room_id, new_id(), request.content_type, request.size)
    attachment = msgspec.structs.replace(attachment, key=key)
    check_attachments(room_id, (attachment,))
    form = _files().upload_form(key, request.content_type, request.size, UPLOAD_EXPIRES_S)
    return reply(
        {**form, "attachment": attachment, "expires_in": UPLOAD_EXPIRES_S},
        HTTPStatus.CREATED,
    )


@app.get("/rooms/<room_id>/files/<file_id>")
def download(room_id: str, file_id: str) -> Response[Any]:
    """Members are redirected to a short-lived URL (or given it, with `as=url`, for a player that
    streams it); nobody else learns the file exists."""
    room_for_member(_stores()[0], room_id, caller())
    check_id(file_id, "a file id")
    name = app.current_event.get_query_string_value("name")
    url = _files().download_url(attachment_prefix(room_id) + file_id, DOWNLOAD_EXPIRES_S, name)
    if app.current_event.get_query_string_value("as") == "url":
        return reply({"url": url, "expires_in": DOWNLOAD_EXPIRES_S})
    return Response(
        status_code=HTTPStatus.FOUND,
        content_type="application/json",
        body="{}",
        headers={"Location": url, "Cache-Control": "private, no-store"},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = app.resolve(event, context)
    return response

"""WebSocket actions. Each answer is the route's reply to the sender: an `ack` with the seq the
command path assigned, a `pong`, or an `error` frame; the socket stays open either way."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import msgspec
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.aws import table_name
from adapters.bus import EventBridgeBus
from adapters.event_store import DynamoEventStore
from application.queries import room_for_member
from application.service import ChatService, Outcome
from domain.errors import DomainError
from domain.events import Attachment

logger = Logger(service="ws-messages")


class Frame(msgspec.Struct, frozen=True, tag_field="action", forbid_unknown_fields=True):
    pass


class SendFrame(Frame, frozen=True, tag="send"):
    room_id: str
    text: str = ""
    client_id: str = ""
    attachments: tuple[Attachment, ...] = ()


class EditFrame(Frame, frozen=True, tag="edit"):
    room_id: str
    seq: int
    text: str
    client_id: str = ""


class DeleteFrame(Frame, frozen=True, tag="delete"):
    room_id: str
    seq: int
    client_id: str = ""


class TypingFrame(Frame, frozen=True, tag="typing"):
    room_id: str


class ReadFrame(Frame, frozen=True, tag="read"):
    room_id: str
    seq: int


class PingFrame(Frame, frozen=True, tag="ping"):
    pass


_decoder = msgspec.json.Decoder(
    SendFrame | EditFrame | DeleteFrame | TypingFrame | ReadFrame | PingFrame
)


class BadFrame(DomainError):
    code = "bad_frame"


@cache
def _collaborators() -> tuple[DynamoEventStore, ChatService, EventBridgeBus]:
    events = DynamoEventStore(table_name("EVENTS_TABLE"))
    return events, ChatService(events), EventBridgeBus(os.environ["EVENT_BUS_NAME"])


def reply(frame: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "body": msgspec.json.encode(frame).decode()}


def ack(outcome: Outcome, client_id: str) -> dict[str, Any]:
    return reply(
        {
            "type": "ack",
            "client_id": client_id,
            "room_id": outcome.room_id,
            "seq": outcome.seq,
            "duplicate": outcome.duplicate,
        }
    )


def act(user: str, frame: Frame) -> dict[str, Any]:
    events, chat, bus = _collaborators()
    if isinstance(frame, SendFrame):
        sent = chat.send(user, frame.room_id, frame.text, frame.client_id, frame.attachments)
        return ack(sent, frame.client_id)
    if isinstance(frame, EditFrame):
        return ack(chat.edit(user, frame.room_id, frame.seq, frame.text), frame.client_id)
    if isinstance(frame, DeleteFrame):
        return ack(chat.delete(user, frame.room_id, frame.seq), frame.client_id)
    if isinstance(frame, ReadFrame):
        return ack(chat.mark_read(user, frame.room_id, frame.seq), "")
    if isinstance(frame, TypingFrame):
        room_for_member(events, frame.room_id, user)
        bus.signal("typing", {"room_id": frame.room_id, "user_id": user})
        return {"statusCode": 200}
    return reply({"type": "pong"})


def client_id_of(body: str) -> str:
    try:
        found = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return ""
    return str(found.get("client_id", "")) if isinstance(found, dict) else ""


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event["requestContext"]
    body = event.get("body") or ""
    try:
        user = (request.get("authorizer") or {}).get("user_id")
        if not user:
            raise BadFrame("this connection has no signed-in user")
        try:
            frame = _decoder.decode(body)
        except msgspec.DecodeError as error:
            raise BadFrame(f"not a valid frame: {error}") from error
        return act(str(user), frame)
    except DomainError as refused:
        return error_reply(refused.code, refused.message, body)
    except Exception:
        # Nothing was acknowledged: the client may resend with the same client_id.
        logger.exception("frame failed", route=request.get("routeKey"))
        return error_reply("internal", "something went wrong; send it again", body)


def error_reply(code: str, message: str, body: str) -> dict[str, Any]:
    return reply(
        {"type": "error", "code": code, "message": message, "client_id": client_id_of(body)}
    )

"""WebSocket actions. Each answer is the route's reply to the sender: an `ack` with the seq the
command path assigned, a `pong`, or an `error` frame; the socket stays open either way."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.aws import table_name
from adapters.bus import EventBridgeBus
from adapters.event_store import DynamoEventStore
from adapters.rate_limits import DynamoRateLimiter
from application import wire
from application.pacing import pace, pace_frame
from application.ports import EventStore, RateLimiter, Signals
from application.service import ChatService
from application.signals import signal_typing
from domain.commands import COMMANDS, Command, Typing, action_of
from domain.errors import DomainError, RateLimited
from functions.composition import Root
from functions.ws.frames import Ack, ErrorFrame, Ping, Pong, client_frames

logger = Logger(service="ws-messages")
frames = wire.FrameDecoder(client_frames())


@dataclass(frozen=True)
class Deps:
    events: EventStore
    chat: ChatService
    signals: Signals
    limits: RateLimiter


def from_environment() -> Deps:
    events = DynamoEventStore(table_name("EVENTS_TABLE"))
    return Deps(
        events,
        ChatService(events),
        EventBridgeBus(os.environ["EVENT_BUS_NAME"]),
        DynamoRateLimiter(table_name("RATE_LIMITS_TABLE")),
    )


root = Root(from_environment)


class BadFrame(DomainError):
    code = "bad_frame"


def reply(frame: msgspec.Struct) -> dict[str, Any]:
    return {"statusCode": 200, "body": msgspec.json.encode(frame).decode()}


def act(deps: Deps, user: str, frame: Command | Typing | Ping) -> dict[str, Any]:
    if isinstance(frame, Ping):
        return reply(Pong())
    pace(deps.limits, user, action_of(type(frame)))
    if isinstance(frame, Typing):
        signal_typing(deps.events, deps.signals, user, frame)
        return {"statusCode": 200}
    outcome = deps.chat.execute(user, frame)
    return reply(Ack(frame.client_id, outcome.room_id, outcome.seq, outcome.duplicate))


def decode(body: str) -> Command | Typing | Ping:
    try:
        frame = frames.decode(body)
    except DomainError as error:
        raise BadFrame(error.message) from error
    if not isinstance(frame, (*COMMANDS, Typing, Ping)):
        raise BadFrame(f"{type(frame).__name__} is not taken over the WebSocket")
    return cast(Command | Typing | Ping, frame)


def handle(event: dict[str, Any], deps: Deps) -> dict[str, Any]:
    request = event["requestContext"]
    body = event.get("body") or ""
    try:
        user = (request.get("authorizer") or {}).get("user_id")
        if not user:
            raise BadFrame("this connection has no signed-in user")
        pace_frame(deps.limits, str(user))
        return act(deps, str(user), decode(body))
    except RateLimited as refused:
        return error_reply(
            refused.code, refused.message, body, refused.retry_after_ms, refused.limit
        )
    except DomainError as refused:
        return error_reply(refused.code, refused.message, body)
    except Exception:
        # Nothing was acknowledged: the client may resend with the same client_id.
        logger.exception("frame failed", route=request.get("routeKey"))
        return error_reply("internal", "something went wrong; send it again", body)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, root())


def client_id_of(body: str) -> str:
    try:
        found = msgspec.json.decode(body)
    except wire.MALFORMED:
        return ""
    return str(found.get("client_id", "")) if isinstance(found, dict) else ""


def error_reply(
    code: str, message: str, body: str, retry_after_ms: int = 0, limit: str = ""
) -> dict[str, Any]:
    return reply(ErrorFrame(code, message, client_id_of(body), retry_after_ms, limit))

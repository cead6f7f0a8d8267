"""The WebSocket API's frames: what a client sends (the `domain.commands` inputs its routes
name, and `ping`) and what the server answers on the same socket."""

from __future__ import annotations

import msgspec

from application.wire import BY_ACTION
from components import topology


class Ping(msgspec.Struct, frozen=True, tag_field="action", tag="ping", forbid_unknown_fields=True):
    """Keeps an idle connection open; answered with a `pong`."""


class _Reply(msgspec.Struct, frozen=True, tag_field="type"):
    pass


class Ack(_Reply, frozen=True, tag="ack"):
    """The command path's answer to a command: the seq it was given (the original one for a
    command sent again with the same client_id)."""

    client_id: str
    room_id: str
    seq: int
    duplicate: bool


class Pong(_Reply, frozen=True, tag="pong"):
    pass


class ErrorFrame(_Reply, frozen=True, tag="error"):
    """A refused frame; the socket stays open. `rate_limited` says which budget ran out
    (`limit`) and when the same frame is taken again (`retry_after_ms`); both are empty for every
    other code."""

    code: str
    message: str
    client_id: str = ""
    retry_after_ms: int = 0
    limit: str = ""


def client_frames() -> dict[str, type[msgspec.Struct]]:
    """action -> frame type, for every action route of the messages function (read at call
    time, so a route added to the topology is a frame here)."""
    kinds: dict[str, type[msgspec.Struct]] = {**BY_ACTION, "ping": Ping}
    return {
        route.route_key: kinds[route.route_key]
        for route in topology.WS_ROUTES
        if route.function == topology.WS_MESSAGES.name and not route.route_key.startswith("$")
    }


REPLIES: tuple[type[msgspec.Struct], ...] = (Ack, Pong, ErrorFrame)

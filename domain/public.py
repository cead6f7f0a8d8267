"""The public shape of an event, as the bus, the WebSocket and `GET /rooms/{id}/events` carry it."""

from __future__ import annotations

from typing import Any

import msgspec

from domain.events import Envelope, ReadMarked
from domain.ids import stream_entity


def detail(envelope: Envelope) -> dict[str, Any]:
    """Room events are addressed by (room_id, seq); a read marker by its reader and room."""
    event = envelope.data
    body: dict[str, Any] = {
        "type": envelope.type,
        "v": envelope.v,
        "room_id": stream_entity(envelope.stream),
        "seq": envelope.version,
        "actor": envelope.actor,
        "at": envelope.at,
        "event_id": envelope.event_id,
        "data": msgspec.to_builtins(event),
    }
    del body["data"]["type"]
    if isinstance(event, ReadMarked):
        body.update(room_id=event.room_id, seq=event.seq, user_id=envelope.actor)
    return body

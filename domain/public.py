"""The public shape of an event, as the bus, the WebSocket and `GET /rooms/{id}/events` carry it."""

from __future__ import annotations

from typing import Any

import msgspec

from domain.events import Envelope, MessageCreated, MessageUpdated, ReadMarked
from domain.ids import stream_entity
from domain.projection import message_preview, preview


class PublicEvent(msgspec.Struct, frozen=True, omit_defaults=True):
    """A room event addressed by (room_id, seq); a read marker by its reader (`user_id`), its
    room and the seq read. `data` holds the event's own fields (see `domain.events`); `preview`,
    on message events, is what the inbox shows for them."""

    type: str
    v: int
    room_id: str
    seq: int
    actor: str
    at: str
    event_id: str
    data: dict[str, Any]
    preview: str = ""
    user_id: str = ""


def detail(envelope: Envelope) -> dict[str, Any]:
    event = envelope.data
    data: dict[str, Any] = msgspec.to_builtins(event)
    del data["type"]
    room_id, seq, user_id, shown = stream_entity(envelope.stream), envelope.version, "", ""
    if isinstance(event, MessageCreated):
        shown = message_preview(event)
    elif isinstance(event, MessageUpdated):
        shown = preview(event.text)
    elif isinstance(event, ReadMarked):
        room_id, seq, user_id = event.room_id, event.seq, envelope.actor
    public = PublicEvent(
        envelope.type,
        envelope.v,
        room_id,
        seq,
        envelope.actor,
        envelope.at,
        envelope.event_id,
        data,
        shown,
        user_id,
    )
    body: dict[str, Any] = msgspec.to_builtins(public)  # fields left empty are left out
    return body

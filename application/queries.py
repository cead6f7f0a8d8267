"""Read-side answers that need more than one store: catch-up after a seq."""

from __future__ import annotations

from typing import Any, Final

from application.ports import EventStore
from domain.ids import room_stream
from domain.limits import MAX_SEQ
from domain.public import detail

CATCH_UP_MAX: Final = 500


def events_after(
    store: EventStore, room_id: str, after: int, limit: int = CATCH_UP_MAX
) -> list[dict[str, Any]]:
    """What the WebSocket would have sent for this room after `seq`, read from the log itself,
    so a client catching up never misses an event the projector has not reached yet."""
    limit = max(1, min(limit, CATCH_UP_MAX))
    after = min(max(after, 0), MAX_SEQ)
    return [detail(e) for e in store.read_stream(room_stream(room_id), after, after + limit)]

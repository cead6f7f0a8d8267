"""Read-side answers that come from the log itself: catch-up after a seq, and who may read."""

from __future__ import annotations

from typing import Any, Final

from application.ports import EventStore, LoadRequest
from domain.errors import NotAMember, RoomNotFound
from domain.ids import room_stream
from domain.limits import MAX_SEQ
from domain.public import detail
from domain.rooms import RoomState
from domain.rules import check_id

CATCH_UP_MAX: Final = 500


def events_after(
    store: EventStore, room_id: str, after: int, limit: int = CATCH_UP_MAX
) -> list[dict[str, Any]]:
    """What the WebSocket would have sent for this room after `seq`, read from the log itself,
    so a client catching up never misses an event the projector has not reached yet."""
    limit = max(1, min(limit, CATCH_UP_MAX))
    after = min(max(after, 0), MAX_SEQ)
    return [detail(e) for e in store.read_stream(room_stream(room_id), after, after + limit)]


def room_for_member(store: EventStore, room_id: str, user_id: str) -> RoomState:
    """The room's state, if `user_id` belongs to it (read consistently from the log's heads)."""
    check_id(room_id, "a room id")
    loaded = store.load(LoadRequest(room_stream(room_id), members=(user_id,)))
    if loaded.room is None:
        raise RoomNotFound(f"room {room_id} does not exist")
    if user_id not in loaded.room.members:
        raise NotAMember("you are not a member of this room")
    return loaded.room

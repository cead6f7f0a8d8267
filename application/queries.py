"""Read-side use cases: who may read a room (from the log itself), its page, its history, and
catch-up after a seq."""

from __future__ import annotations

from typing import Any, Final

from application.ports import EventStore, LoadRequest, ViewReader
from domain.errors import NotAMember, RoomNotFound
from domain.ids import room_stream
from domain.limits import MAX_SEQ
from domain.public import detail
from domain.rooms import RoomState
from domain.rules import check_id

CATCH_UP_MAX: Final = 500
HISTORY_PAGE: Final = 50


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
        raise RoomNotFound.to(room_id)
    if user_id not in loaded.room.members:
        raise NotAMember.to(room_id)
    return loaded.room


def room_page(store: EventStore, views: ViewReader, room_id: str, user_id: str) -> dict[str, Any]:
    """A room as its members see it: what the rules know (read from the log, so a member who
    just joined sees it at once), who is in it and when it was last active (from the views)."""
    state = room_for_member(store, room_id, user_id)
    row = views.room(room_id) or {}
    return {
        "room_id": room_id,
        "kind": state.kind,
        "name": state.name,
        "seq": state.version,
        "member_count": state.member_count,
        "members": sorted(views.members(room_id)),
        "last_activity": row.get("last_activity"),
    }


def history(
    store: EventStore,
    views: ViewReader,
    room_id: str,
    user_id: str,
    before: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """A page of a room's messages, newest first, for a member."""
    room_for_member(store, room_id, user_id)
    return views.messages(room_id, before=before, limit=limit or HISTORY_PAGE)


def catch_up(
    store: EventStore, room_id: str, user_id: str, after: int | None = None
) -> list[dict[str, Any]]:
    """For a member: what the WebSocket would have sent after `after`."""
    room_for_member(store, room_id, user_id)
    return events_after(store, room_id, after or 0)

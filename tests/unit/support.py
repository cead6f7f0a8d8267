"""Helpers shared by the unit tests: a deterministic clock and ids, and views lookups."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from application.memory import InMemoryEventStore
from application.ports import EventStore
from application.service import ChatService
from domain.events import Attachment
from domain.projection import Row, Views, inbox_key, member_key, message_key, room_key

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    """ISO timestamps in the service's format, one second apart, starting at EPOCH."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> str:
        moment = EPOCH + timedelta(seconds=next(self._ticks))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def sequential_ids(prefix: str = "id") -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter)}"


def no_sleep(_: float) -> None:
    return None


def make_service(store: EventStore | None = None) -> ChatService:
    return ChatService(
        store if store is not None else InMemoryEventStore(),
        clock=Clock(),
        ids=sequential_ids(),
        sleep=no_sleep,
    )


def memory(chat: ChatService) -> InMemoryEventStore:
    store = chat.store
    assert isinstance(store, InMemoryEventStore)
    return store


def views_of(chat: ChatService) -> Views:
    return Views().fold(memory(chat).appended)


def room_row(views: Views, room_id: str) -> Row:
    return views.rows[room_key(room_id)]


def message_row(views: Views, room_id: str, seq: int) -> Row:
    return views.rows[message_key(room_id, seq)]


def inbox_row(views: Views, user_id: str, room_id: str) -> Row:
    return views.rows[inbox_key(user_id, room_id)]


def active_members(views: Views, room_id: str) -> set[str]:
    room_pk, member_prefix = member_key(room_id, "")
    return {
        row["user_id"]
        for (pk, sk), row in views.rows.items()
        if pk == room_pk and sk.startswith(member_prefix) and row["active"]
    }


def attachment(room_id: str, name: str = "photo.png", size: int = 1024) -> Attachment:
    return Attachment(f"rooms/{room_id}/{name}", name, "image/png", size)

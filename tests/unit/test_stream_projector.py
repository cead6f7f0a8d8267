"""The projector's record-by-record rules: order within a stream, isolation across streams."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from application.memory import InMemoryViewStore, RecordingBus
from application.projector import HeldBack, StreamProjector
from application.service import ChatService
from domain.events import Envelope
from domain.projection import Views
from tests.unit.support import memory


class RefusingBus(RecordingBus):
    """Refuses to publish events of one stream, once."""

    def __init__(self, refuse: str) -> None:
        super().__init__()
        self.refuse: str | None = refuse

    def publish(self, envelopes: Iterable[Envelope]) -> None:
        batch = list(envelopes)
        if any(e.stream == self.refuse for e in batch):
            self.refuse = None
            raise ConnectionError("bus unavailable")
        super().publish(batch)


def deliver(projector: StreamProjector, log: list[Envelope]) -> list[tuple[str, int]]:
    failed = []
    for envelope in log:
        try:
            projector.handle(envelope.stream, lambda e=envelope: e)  # type: ignore[misc]
        except (ConnectionError, HeldBack):
            failed.append((envelope.stream, envelope.version))
    return failed


def test_a_failed_publish_holds_back_its_stream_and_a_redelivery_completes_it(
    chat: ChatService, room: str
) -> None:
    other = chat.create_room("bob", "Other").room_id
    first = chat.send("alice", room, "first")
    chat.send("bob", other, "elsewhere")
    chat.edit("alice", room, first.seq, "first, edited")
    log = memory(chat).appended
    views = InMemoryViewStore()
    bus = RefusingBus(refuse="room#" + room)

    failed = deliver(StreamProjector(views, bus), log)

    # The room's first event failed to publish; everything after it in that stream waits.
    assert failed == [(e.stream, e.version) for e in log if e.stream == "room#" + room]
    assert {e.stream for e in bus.published} == {"room#" + other}

    # Lambda redelivers from the first failure: the whole batch again, in order.
    assert deliver(StreamProjector(views, bus), log) == []
    assert views.views.rows == Views().fold(log).rows
    assert sorted((e.stream, e.version) for e in bus.published) == sorted(
        [(e.stream, e.version) for e in log] + [("room#" + other, 1), ("room#" + other, 2)]
    )


def test_a_stream_is_held_back_only_within_the_batch_that_failed(
    chat: ChatService, room: str
) -> None:
    created = memory(chat).appended[0]
    views, bus = InMemoryViewStore(), RefusingBus(refuse=created.stream)
    failing = StreamProjector(views, bus)
    with pytest.raises(ConnectionError):
        failing.handle(created.stream, lambda: created)

    with pytest.raises(HeldBack):
        failing.handle(created.stream, lambda: created)
    assert StreamProjector(views, bus).handle(created.stream, lambda: created) == created

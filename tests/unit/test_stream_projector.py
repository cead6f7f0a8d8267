"""The projector's batch rules: order within a stream, isolation and concurrency across streams."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from application.memory import InMemoryViewStore, RecordingBus
from application.projector import StreamProjector
from application.service import ChatService
from domain.events import Envelope
from domain.projection import Views, Write, message_sk
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


def failed(projector: StreamProjector, log: list[Envelope]) -> list[tuple[str, int, str]]:
    outcomes = projector.project([(e.stream, lambda e=e: e) for e in log])  # type: ignore[misc]
    return [
        (e.stream, e.version, type(outcome).__name__)
        for e, outcome in zip(log, outcomes, strict=True)
        if outcome is not None
    ]


def test_a_failed_publish_fails_its_stream_only_and_a_redelivery_completes_it(
    chat: ChatService, room: str
) -> None:
    other = chat.create_room("bob", "Other").room_id
    first = chat.send("alice", room, "first")
    chat.send("bob", other, "elsewhere")
    chat.edit("alice", room, first.seq, "first, edited")
    log = memory(chat).appended
    views = InMemoryViewStore()
    bus = RefusingBus(refuse="room#" + room)

    # The room's events were written to the views but could not be published: all of them fail.
    assert failed(StreamProjector(views, bus), log) == [
        (e.stream, e.version, "ConnectionError") for e in log if e.stream == "room#" + room
    ]
    assert {e.stream for e in bus.published} == {"room#" + other}

    # Lambda redelivers from the first failure: the whole batch again, in order.
    assert failed(StreamProjector(views, bus), log) == []
    assert views.views.rows == Views().fold(log).rows
    assert sorted((e.stream, e.version) for e in bus.published) == sorted(
        [(e.stream, e.version) for e in log] + [("room#" + other, 1), ("room#" + other, 2)]
    )


def test_a_failed_event_holds_back_the_rest_of_its_stream_and_nothing_of_it_is_published(
    chat: ChatService, room: str
) -> None:
    other = chat.create_room("bob", "Other").room_id
    first = chat.send("alice", room, "first")
    chat.send("bob", other, "elsewhere")
    chat.edit("alice", room, first.seq, "first, edited")
    log = memory(chat).appended
    stream = "room#" + room

    class Failing(InMemoryViewStore):
        def apply(self, writes: Iterable[Write]) -> int:
            writes = list(writes)
            if any(w.key == (stream, message_sk(first.seq)) for w in writes):
                raise ConnectionError("throttled")
            return super().apply(writes)

    views, bus = Failing(), RecordingBus()
    projector = StreamProjector(views, bus)
    outcomes = failed(projector, log)

    first_message = first.seq
    assert outcomes[0] == (stream, first_message, "ConnectionError")
    assert [name for _, _, name in outcomes[1:]] == ["HeldBack"] * (len(outcomes) - 1)
    assert all(s == stream and v > first_message for s, v, _ in outcomes[1:])
    assert {(e.stream, e.version) for e in bus.published} == {
        (e.stream, e.version) for e in log if e.stream != stream or e.version < first_message
    }


def test_streams_are_projected_side_by_side_and_each_stream_in_its_order(
    chat: ChatService,
) -> None:
    rooms = [chat.create_room("alice", f"room {i}").room_id for i in range(3)]
    for turn in range(3):
        for room in rooms:
            chat.send("alice", room, f"message {turn}")
    log = memory(chat).appended
    all_waiting = threading.Barrier(len(rooms), timeout=10)
    seen: list[tuple[str, int]] = []

    class Recording(InMemoryViewStore):
        def apply(self, writes: Iterable[Write]) -> int:
            writes = list(writes)
            if writes[0].version == 1:  # every room's first event waits for the others'
                all_waiting.wait()
            seen.append((writes[0].key[0], writes[0].version))
            return super().apply(writes)

    bus = RecordingBus()
    assert failed(StreamProjector(Recording(), bus), log) == []

    for room in rooms:
        stream = "room#" + room
        assert [v for s, v in seen if s == stream] == [1, 2, 3, 4]
        assert [e.version for e in bus.published if e.stream == stream] == [1, 2, 3, 4]


def test_a_new_batch_starts_clean_after_a_failed_one(chat: ChatService, room: str) -> None:
    created = memory(chat).appended[0]
    views, bus = InMemoryViewStore(), RefusingBus(refuse=created.stream)
    projector = StreamProjector(views, bus)

    assert failed(projector, [created]) == [(created.stream, 1, "ConnectionError")]
    assert failed(projector, [created]) == []

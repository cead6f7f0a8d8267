"""Many writers on one room: the log stays gap-free, nothing is lost or doubled."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from adapters.event_store import DynamoEventStore
from application.service import ChatService
from domain.events import MessageCreated

THREADS = 4
SENDS_PER_THREAD = 100


def test_four_threads_of_100_sends_give_a_gap_free_log_and_idempotent_resends(
    event_store: DynamoEventStore,
) -> None:
    chat = ChatService(event_store)
    writers = [f"writer{t}" for t in range(THREADS)]
    room = chat.create_room(writers[0], "Busy", tuple(writers[1:]))

    def send_all(thread: int) -> list[tuple[str, int]]:
        actor = writers[thread]
        return [
            (
                f"{actor}-{i}",
                chat.send(actor, room.room_id, f"{actor} says {i}", f"{actor}-{i}").seq,
            )
            for i in range(SENDS_PER_THREAD)
        ]

    with ThreadPoolExecutor(THREADS) as pool:
        acked = dict(pair for batch in pool.map(send_all, range(THREADS)) for pair in batch)

    events = event_store.read_stream("room#" + room.room_id)
    total = THREADS * SENDS_PER_THREAD
    assert [e.version for e in events] == list(range(1, total + 2))  # 1 is room.created
    messages = [e for e in events if isinstance(e.data, MessageCreated)]
    assert len({e.data.client_id for e in messages}) == total  # type: ignore[union-attr]
    assert {e.data.client_id: e.version for e in messages} == acked  # type: ignore[union-attr]
    assert [e.data.n for e in messages] == list(range(1, total + 1))  # type: ignore[union-attr]

    def resend_all(thread: int) -> list[tuple[str, int, bool]]:
        actor = writers[thread]
        out = []
        for i in range(SENDS_PER_THREAD):
            again = chat.send(actor, room.room_id, f"{actor} says {i}", f"{actor}-{i}")
            out.append((f"{actor}-{i}", again.seq, again.duplicate))
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        resent = [r for batch in pool.map(resend_all, range(THREADS)) for r in batch]

    assert all(duplicate for _, _, duplicate in resent)
    assert {client_id: seq for client_id, seq, _ in resent} == acked
    assert len(event_store.read_stream("room#" + room.room_id)) == total + 1

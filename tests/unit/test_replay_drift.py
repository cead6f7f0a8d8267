"""The drift check and repair against a projector that keeps going: judged per stream, per guard.

The live views here are a table in memory whose conditional writes behave as DynamoDB's do; the
projector writes into it with its own guarded merge.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from hypothesis import given
from hypothesis import strategies as st

from application.service import ChatService
from domain.events import Envelope
from domain.ids import reader_stream, room_stream
from domain.projection import (
    READ_GUARD,
    ROOM_GUARD,
    Key,
    Row,
    Views,
    inbox_key,
    member_key,
    message_key,
    project,
    room_key,
)
from ops.replay import (
    READ_FIELDS,
    SHARED_FIELDS,
    Fold,
    drift,
    fold_log,
    guards_of,
    recheck,
    repair,
)
from tests.unit.support import memory
from tests.unit.test_properties import Op, by_stream, histories, play


class MemoryViews:
    """The views table: a scan, consistent reads, and writes conditioned as DynamoDB's are."""

    table = "views"

    def __init__(self) -> None:
        self.rows: dict[Key, Row] = {}

    def project(self, envelopes: Iterable[Envelope]) -> None:
        for envelope in envelopes:
            for write in project(envelope):
                row = self.rows.get(write.key)
                if row is None:
                    self.rows[write.key] = dict(write.fields)
                elif row.get(write.guard, 0) < write.version:
                    row.update(write.fields)

    def scan_rows(self) -> Iterator[Row]:
        for (pk, sk), row in list(self.rows.items()):
            yield {"pk": pk, "sk": sk, **row}

    def get_rows(self, keys: Iterable[Key]) -> dict[Key, Row]:
        return {k: {"pk": k[0], "sk": k[1], **self.rows[k]} for k in keys if k in self.rows}

    def _allowed(self, key: Key, newest: Mapping[str, int]) -> bool:
        row = self.rows.get(key, {})
        return all(guard not in row or row[guard] <= top for guard, top in newest.items())

    def put_row_if(self, row: Row, newest: Mapping[str, int]) -> bool:
        key = (row["pk"], row["sk"])
        if not self._allowed(key, newest):
            return False
        self.rows[key] = {k: v for k, v in row.items() if k not in ("pk", "sk")}
        return True

    def update_row_if(
        self, key: Key, fields: Row, remove: Iterable[str], newest: Mapping[str, int]
    ) -> bool:
        if not self._allowed(key, newest):
            return False
        row = self.rows.setdefault(key, {})
        row.update(fields)
        for name in remove:
            row.pop(name, None)
        return True

    def delete_row_if(self, key: Key, newest: Mapping[str, int]) -> bool:
        if not self._allowed(key, newest):
            return False
        self.rows.pop(key, None)
        return True


def read(events: Iterable[Envelope]) -> Fold:
    folded, unreadable = fold_log(events, lambda event: event)
    assert not unreadable
    return folded


def upto(streams: Mapping[str, list[Envelope]], cut: Mapping[str, int]) -> list[Envelope]:
    return [event for name, events in streams.items() for event in events[: cut[name]]]


def test_an_inbox_rows_fields_are_split_between_its_two_streams_as_the_projection_writes_them(
    chat: ChatService, room: str
) -> None:
    chat.mark_read("bob", room, 1)
    writes = [w for e in memory(chat).appended for w in project(e) if w.key[0] == "inbox#bob"]
    by_guard = {
        guard: {f for w in writes if w.guard == guard for f in w.fields}
        for guard in (
            ROOM_GUARD,
            READ_GUARD,
        )
    }
    assert by_guard[READ_GUARD] == READ_FIELDS | SHARED_FIELDS
    assert by_guard[ROOM_GUARD] & by_guard[READ_GUARD] == SHARED_FIELDS
    assert guards_of(inbox_key("bob", room)) == {
        ROOM_GUARD: room_stream(room),
        READ_GUARD: reader_stream("bob", room),
    }
    assert guards_of(member_key(room, "bob")) == {ROOM_GUARD: room_stream(room)}
    assert guards_of(message_key(room, 2)) == guards_of(room_key(room))


def test_the_read_covers_each_stream_up_to_its_first_missing_version(
    chat: ChatService, room: str
) -> None:
    for text in ("one", "two", "three"):
        chat.send("alice", room, text)
    log = memory(chat).appended
    holed = [e for e in log if (e.stream, e.version) != (room_stream(room), 3)]

    folded = read(reversed(holed))  # a scan returns no particular order

    assert folded.covered == {room_stream(room): 2}
    assert folded.rows == Views().fold(log[:2]).rows  # nothing folded past the hole


def test_a_tampered_row_a_lost_row_and_a_stray_row_are_drift_for_certain(
    chat: ChatService, room: str
) -> None:
    for text in ("one", "two", "three"):
        chat.send("alice", room, text)
    folded = read(memory(chat).appended)
    views = MemoryViews()
    views.project(memory(chat).appended)
    views.rows[message_key(room, 2)]["text"] = "tampered"
    del views.rows[message_key(room, 3)]
    views.rows[("room#ghost", "meta")] = {"name": "no guard"}
    views.rows[message_key(room, 9)] = {"text": "a version the read covered", "src": 2}

    report = recheck(drift(folded, views.scan_rows()), folded, views, 0)

    assert report.different == [message_key(room, 2)]
    assert report.rows[message_key(room, 2)].fields == {"text": ("tampered", "one")}
    assert report.missing == [message_key(room, 3)]
    assert sorted(report.extra) == [("room#ghost", "meta"), message_key(room, 9)]
    assert report.behind == []
    repair(folded, report, views)
    assert views.rows == folded.rows


@given(ops=histories, data=st.data())
def test_a_check_and_a_repair_amid_the_projector_never_undo_what_it_wrote(
    ops: list[Op], data: st.DataObject
) -> None:
    """The read, the projector at the check and at the repair: each anywhere in each stream."""
    log = play(ops).appended
    streams = by_stream(log)

    def cut(label: str, least: Mapping[str, int] | None = None) -> dict[str, int]:
        return {
            name: data.draw(st.integers((least or {}).get(name, 0), len(events)), f"{label} {name}")
            for name, events in streams.items()
        }

    seen, checked = cut("read"), cut("projected at the check")
    repaired = cut("projected at the repair", checked)
    folded = read(upto(streams, seen))
    views = MemoryViews()
    views.project(upto(streams, checked))

    report = drift(folded, views.scan_rows())

    # Nothing is drift for certain: the live rows are only behind the read, or past it.
    assert [d.key for d in report.rows.values() if not d.behind] == []
    if all(checked[name] >= seen[name] for name in streams):
        assert report.total == 0

    views.project(e for e in upto(streams, repaired) if e.version > checked[e.stream])
    done = repair(folded, report, views)
    assert done.failed == []
    views.project(e for e in log if e.version > repaired[e.stream])
    assert views.rows == Views().fold(sorted(log, key=lambda e: (e.stream, e.version))).rows

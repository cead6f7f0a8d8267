"""In-memory implementations of the ports, with the same semantics as the DynamoDB ones.

Used by unit and property tests, and by benchmarks that need a realistic log quickly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from application.ports import (
    Append,
    CommandRecord,
    DuplicateCommand,
    Loaded,
    LoadRequest,
    VersionConflict,
)
from domain.events import Envelope, MessageCreated, MessageDeleted
from domain.projection import Views, Write
from domain.rooms import MessageState, ReaderState, RoomState, evolve_message


class InMemoryEventStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.streams: dict[str, list[Envelope]] = {}
        self.heads: dict[str, RoomState | ReaderState] = {}
        self.records: dict[str, CommandRecord] = {}
        self.appended: list[Envelope] = []  # in commit order, as a stream would deliver them

    def load(self, request: LoadRequest) -> Loaded:
        with self._lock:
            room = self.heads.get(request.room_stream or "")
            reader = self.heads.get(request.reader_stream or "")
            record = self.records.get(request.command_key or "")
            message = None
            if request.room_stream and request.message_seq is not None:
                message = self._message(
                    request.room_stream, request.message_seq, request.at_or_before
                )
        return Loaded(
            room if isinstance(room, RoomState) else None,
            reader if isinstance(reader, ReaderState) else None,
            message,
            record,
        )

    def _message(self, stream: str, seq: int, at_or_before: bool) -> MessageState | None:
        events = self.streams.get(stream, [])
        seq = min(seq, len(events))
        while seq >= 1:
            envelope = events[seq - 1]
            if isinstance(envelope.data, MessageCreated):
                state = evolve_message(None, envelope)
                for later in events[seq:]:
                    if isinstance(later.data, MessageDeleted):
                        state = evolve_message(state, later)
                return state
            if not at_or_before:
                return None
            seq -= 1
        return None

    def append(self, append: Append) -> None:
        with self._lock:
            if append.record is not None and append.record.key in self.records:
                raise DuplicateCommand(append.record.key)
            events = self.streams.setdefault(append.stream, [])
            if len(events) != append.expected:
                raise VersionConflict(append.stream)
            room = self.heads.get("room#" + append.room_id)
            if append.members and not (
                isinstance(room, RoomState) and append.members <= room.members
            ):
                raise VersionConflict(append.room_id)
            events.extend(append.events)
            self.appended.extend(append.events)
            self.heads[append.stream] = append.head
            if append.record is not None:
                self.records[append.record.key] = append.record

    def read_stream(self, stream: str, after: int = 0, upto: int | None = None) -> list[Envelope]:
        with self._lock:
            events = self.streams.get(stream, [])
            return list(events[after:upto])

    def scan(self) -> Iterator[Envelope]:
        with self._lock:
            everything = [e for events in self.streams.values() for e in events]
        return iter(everything)


class InMemoryViewStore:
    def __init__(self) -> None:
        self.views = Views()
        self.lock = threading.Lock()  # the projector applies different streams side by side

    def apply(self, writes: Iterable[Write]) -> int:
        with self.lock:
            return sum(self.views.apply(write) for write in writes)


class RecordingBus:
    def __init__(self) -> None:
        self.published: list[Envelope] = []

    def publish(self, envelopes: Iterable[Envelope]) -> None:
        self.published.extend(envelopes)

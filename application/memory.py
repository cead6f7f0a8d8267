"""In-memory implementations of the ports, with the same semantics as the DynamoDB ones.

Used by unit and property tests, and by benchmarks that need a realistic log quickly.

`InMemoryEventStore` keeps what the events table keeps, item for item: events, stream heads
(a room's without its members, as DynamoDB stores it), command records, tombstones and one
membership per member of a room. A load answers what `adapters.event_store` answers for the same
request (a room's head names only the requested users who are members), and an append holds
under the same conditions, all checked before anything is written:
`tests/integration/test_event_store_contract.py` runs both stores through the same scenarios.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Final

import msgspec

from application.ports import (
    Append,
    CommandRecord,
    DuplicateCommand,
    Loaded,
    LoadRequest,
    VersionConflict,
)
from domain.events import (
    Envelope,
    MessageCreated,
    MessageDeleted,
    RoomCreated,
    UserJoined,
    UserLeft,
)
from domain.ids import command_item, membership_item, stream_entity, tombstone_item
from domain.projection import Views, Write
from domain.rate_limits import Admission, Limit, admit
from domain.rooms import MessageState, ReaderState, RoomState

# DynamoDB's limit on the items of one TransactWriteItems, TransactGetItems or BatchGetItem.
MAX_ITEMS: Final = 100

Key = tuple[str, int]  # an item's (pk, sk) in the events table


def _version(envelope: Envelope) -> int:
    return envelope.version


def _member_key(room_id: str, user_id: str) -> Key:
    return (membership_item(room_id, user_id), 0)


def _tombstone(stream: str, seq: int) -> tuple[str, int]:
    """A tombstone's room and seq (its item is `tomb#<room>#<seq>`)."""
    return (stream_entity(stream), seq)


def _tombstone_key(room_id: str, seq: int) -> Key:
    return (tombstone_item(room_id, seq), 0)


def _distinct(keys: list[Key]) -> None:
    """What DynamoDB refuses before looking at any item: a request naming an item twice, or more
    items than one request may hold."""
    if len(keys) > MAX_ITEMS:
        raise ValueError(f"one request holds at most {MAX_ITEMS} items, not {len(keys)}")
    if len(set(keys)) != len(keys):
        raise ValueError("a request names the same item twice")


def _message(envelope: Envelope | None, deleted: bool) -> MessageState | None:
    if envelope is None or not isinstance(envelope.data, MessageCreated):
        return None
    return MessageState(
        envelope.version,
        envelope.data.n,
        envelope.actor,
        has_attachments=bool(envelope.data.attachments),
        deleted=deleted,
    )


class _MembershipChange(msgspec.Struct, frozen=True):
    room_id: str
    joins: bool  # a put that needs the membership absent; else a delete that needs it present


def _membership_changes(append: Append) -> tuple[dict[str, _MembershipChange], list[str]]:
    """The membership writes of an append, and the members it only checks, exactly as
    `adapters.event_store` builds them: a later event for the same user wins."""
    writes: dict[str, _MembershipChange] = {}
    for envelope in append.events:
        event = envelope.data
        if isinstance(event, RoomCreated | UserJoined):
            users = event.members if isinstance(event, RoomCreated) else (event.user_id,)
            for user in users:
                writes[user] = _MembershipChange(stream_entity(envelope.stream), joins=True)
        elif isinstance(event, UserLeft):
            writes[event.user_id] = _MembershipChange(append.room_id, joins=False)
    return writes, sorted(append.members - writes.keys())


class InMemoryEventStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.streams: dict[str, list[Envelope]] = {}  # each in version order
        self.heads: dict[str, RoomState | ReaderState] = {}  # as stored: a room's without members
        self.records: dict[str, CommandRecord] = {}
        self.memberships: dict[str, set[str]] = {}  # room id -> its members, one item each
        self.tombstones: set[tuple[str, int]] = set()  # (room id, seq) of deleted messages
        self.appended: list[Envelope] = []  # in commit order, as a stream would deliver them

    # --- commands -------------------------------------------------------------------------------

    def load(self, request: LoadRequest) -> Loaded:
        stream, reader_stream = request.room_stream or "", request.reader_stream or ""
        seq = request.message_seq if stream and (request.message_seq or 0) > 0 else None
        keys: list[Key] = [(name, 0) for name in (stream, reader_stream) if name]
        if request.command_key:
            keys.append((command_item(request.command_key), 0))
        if stream:
            keys.extend(_member_key(stream_entity(stream), user) for user in request.members)
        if seq is not None:
            keys.append((stream, seq))
            if not request.at_or_before:  # a read marker counts deleted messages too
                keys.append(_tombstone_key(*_tombstone(stream, seq)))
        _distinct(keys)
        with self._lock:
            room = self.heads.get(stream) if stream else None
            reader = self.heads.get(reader_stream) if reader_stream else None
            record = self.records.get(request.command_key or "")
            if not isinstance(room, RoomState):
                room = None
            if room is not None:
                members = self.memberships.get(stream_entity(stream), set())
                named = frozenset(user for user in request.members if user in members)
                room = msgspec.structs.replace(room, members=named)
            message = None
            if seq is not None:
                deleted = not request.at_or_before and _tombstone(stream, seq) in self.tombstones
                message = _message(self._event(stream, seq), deleted)
                if (
                    message is None
                    and request.at_or_before
                    and room is not None
                    and seq < room.last_message_seq
                ):
                    message = self._message_at_or_before(stream, seq)
        return Loaded(room, reader if isinstance(reader, ReaderState) else None, message, record)

    def _event(self, stream: str, version: int) -> Envelope | None:
        events = self.streams.get(stream, [])
        index = bisect.bisect_left(events, version, key=_version)
        if index < len(events) and events[index].version == version:
            return events[index]
        return None

    def _message_at_or_before(self, stream: str, seq: int) -> MessageState | None:
        events = self.streams.get(stream, [])
        for index in range(bisect.bisect_right(events, seq, key=_version) - 1, -1, -1):
            envelope = events[index]
            if envelope.version < 1:
                break
            if isinstance(envelope.data, MessageCreated):
                return _message(envelope, deleted=False)
        return None

    def append(self, append: Append) -> None:
        """All or nothing, every condition checked first, as one TransactWriteItems."""
        writes, checks = _membership_changes(append)
        deletions = [
            _tombstone(append.stream, envelope.data.seq)
            for envelope in append.events
            if isinstance(envelope.data, MessageDeleted)
        ]
        _distinct(
            [
                *((envelope.stream, envelope.version) for envelope in append.events),
                (append.stream, 0),
                *([(command_item(append.record.key), 0)] if append.record is not None else []),
                *(_member_key(change.room_id, user) for user, change in writes.items()),
                *(_member_key(append.room_id, user) for user in checks),
                *(_tombstone_key(room_id, seq) for room_id, seq in deletions),
            ]
        )
        with self._lock:
            if append.record is not None and append.record.key in self.records:
                raise DuplicateCommand(append.record.key)
            if not self._holds(append, writes, checks):
                raise VersionConflict(append.stream)
            for envelope in append.events:
                events = self.streams.setdefault(envelope.stream, [])
                bisect.insort(events, envelope, key=_version)
            self.appended.extend(append.events)
            head = append.head
            if isinstance(head, RoomState):
                head = msgspec.structs.replace(head, members=frozenset())  # kept as memberships
            self.heads[append.stream] = head
            if append.record is not None:
                self.records[append.record.key] = append.record
            for user, change in writes.items():
                members = self.memberships.setdefault(change.room_id, set())
                if change.joins:
                    members.add(user)
                else:
                    members.discard(user)
            self.tombstones.update(deletions)

    def _holds(
        self, append: Append, writes: dict[str, _MembershipChange], checks: list[str]
    ) -> bool:
        """The conditions of the transaction, besides the command record's."""
        head = self.heads.get(append.stream)
        if append.expected == 0:
            if head is not None:
                return False
        elif head is None or head.version != append.expected:
            return False
        if any(self._event(e.stream, e.version) is not None for e in append.events):
            return False
        for user, change in writes.items():
            if (user in self.memberships.get(change.room_id, set())) == change.joins:
                return False
        members = self.memberships.get(append.room_id, set())
        return all(user in members for user in checks)

    # --- reads ----------------------------------------------------------------------------------

    def read_stream(self, stream: str, after: int = 0, upto: int | None = None) -> list[Envelope]:
        """The events with `after < version <= upto`, in version order."""
        low = max(after, 0) + 1
        high = upto if upto is not None else 2**53
        with self._lock:
            events = self.streams.get(stream, [])
            first = bisect.bisect_left(events, low, key=_version)
            last = bisect.bisect_right(events, high, key=_version)
            return list(events[first:last])

    def scan(self) -> Iterator[Envelope]:
        """Every event of the log, in no particular order."""
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


class InMemoryRateLimiter:
    """The buckets of domain/rate_limits.py in a dict, on a clock the test moves."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.tats: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def take(self, user: str, limit: Limit) -> Admission:
        with self._lock:
            admission = admit(limit, self.tats.get((user, limit.name)), self.clock())
            if admission.admitted:
                self.tats[user, limit.name] = admission.tat_ms
            return admission

"""What the application needs from storage: DynamoDB in production, memory in tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import msgspec

from domain.events import Envelope
from domain.projection import Write
from domain.rate_limits import Admission, Limit
from domain.rooms import MessageState, ReaderState, RoomState


class CommandRecord(msgspec.Struct, frozen=True):
    """What a command with a caller-chosen id did, so a retry returns it instead of acting twice."""

    key: str
    fingerprint: str
    stream: str
    room_id: str
    first: int
    last: int


class LoadRequest(msgspec.Struct, frozen=True):
    room_stream: str | None = None
    reader_stream: str | None = None
    command_key: str | None = None
    # The message the command addresses; with `at_or_before`, the newest message at or before seq.
    message_seq: int | None = None
    at_or_before: bool = False
    # Users whose membership of the room the decision needs.
    members: tuple[str, ...] = ()


class Loaded(msgspec.Struct, frozen=True):
    room: RoomState | None = None
    reader: ReaderState | None = None
    message: MessageState | None = None
    record: CommandRecord | None = None


class Append(msgspec.Struct, frozen=True):
    """Events for one stream, expected to follow `expected`, with the stream's new head state."""

    stream: str
    expected: int
    events: tuple[Envelope, ...]
    head: RoomState | ReaderState
    record: CommandRecord | None = None
    # The room, and the users the decision saw as its members: the append holds only if they still
    # are (a batch read is no snapshot, and a read marker's stream is not the room's).
    room_id: str = ""
    members: frozenset[str] = frozenset()


class VersionConflict(Exception):
    """Another writer appended to the stream first; load again and decide again."""


class Throttled(Exception):
    """The store refused the write for throughput and wrote nothing; try again after a pause."""


class DuplicateCommand(Exception):
    """A command with this id was already recorded; its original outcome stands."""


class EventStore(Protocol):
    def load(self, request: LoadRequest) -> Loaded: ...

    def append(self, append: Append) -> None:
        """Write all or nothing. Raises VersionConflict, Throttled or DuplicateCommand."""

    def read_stream(
        self, stream: str, after: int = 0, upto: int | None = None
    ) -> list[Envelope]: ...

    def scan(self) -> Iterator[Envelope]:
        """Every event of the log, in no particular order."""


class ViewStore(Protocol):
    def apply(self, writes: Iterable[Write]) -> int:
        """Apply guarded writes; returns how many changed a row."""


class ViewReader(Protocol):
    """What the read routes ask of the views."""

    def room(self, room_id: str) -> dict[str, Any] | None: ...

    def members(self, room_id: str) -> list[str]: ...

    def messages(
        self, room_id: str, before: int | None = None, limit: int = 50
    ) -> list[dict[str, Any]]: ...

    def inbox(self, user_id: str) -> list[dict[str, Any]]: ...


class EventBus(Protocol):
    def publish(self, envelopes: Iterable[Envelope]) -> None: ...


class Signals(Protocol):
    """Ephemeral signals (typing): straight to the bus, never in the log."""

    def signal(self, detail_type: str, detail: dict[str, object]) -> None: ...


class RateLimiter(Protocol):
    def take(self, user: str, limit: Limit) -> Admission:
        """One request from `user`'s bucket of `limit`, admitted or refused, shared by every
        instance that serves the user."""
        ...


class FileStore(Protocol):
    def upload_form(
        self, key: str, content_type: str, max_bytes: int, expires_s: int
    ) -> dict[str, Any]:
        """A form a browser posts straight to storage, which holds it to these values."""
        ...

    def download_url(self, key: str, expires_s: int, name: str | None = None) -> str: ...

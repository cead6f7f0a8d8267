"""The chat application service: load -> decide -> append, for every caller of the product.

Collaborators are passed in (store, clock, id generator), so tests use fakes and the Lambda
functions use the DynamoDB adapters.
"""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import time
from collections.abc import Callable
from typing import Final

import msgspec

from application.ports import (
    Append,
    CommandRecord,
    DuplicateCommand,
    EventStore,
    Loaded,
    LoadRequest,
    Throttled,
    VersionConflict,
)
from domain.commands import (
    RECORDED,
    Command,
    CreateRoom,
    Delete,
    Edit,
    Invite,
    Leave,
    MarkRead,
    OpenDm,
    Send,
    fingerprint,
    fingerprint_before_client_ids,
)
from domain.errors import DomainError
from domain.events import Attachment, Envelope, Event, event_type
from domain.ids import READ_PREFIX, is_room_stream, reader_stream, room_stream
from domain.rooms import (
    ReaderState,
    RoomState,
    concerned_members,
    decide,
    decide_read,
    evolve_reader,
    evolve_room,
    room_of,
    target_seq,
)
from domain.rules import check_command, check_id

MAX_ATTEMPTS: Final = 30


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"


class Busy(DomainError):
    """The room kept changing under us for every attempt; the caller may retry the same command."""

    code = "busy"


class Outcome(msgspec.Struct, frozen=True):
    """What a caller needs back: the room, the seq (its stream version) and the events written.

    `duplicate` is True when this command id had already been handled: the events are the
    original ones and nothing new was written. A command that changed nothing (opening an existing
    DM, deleting a deleted message) has no events and the room's current seq.
    """

    room_id: str
    seq: int
    events: tuple[Envelope, ...] = ()
    duplicate: bool = False

    @property
    def message(self) -> Envelope | None:
        return self.events[0] if self.events else None


def iso_now() -> str:
    """UTC, millisecond precision, fixed width: sorts as text in the log and in exports."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def new_id() -> str:
    """A room's or a file's id: unguessable (an id is no secret, but nobody should enumerate
    them), 24 characters of base32."""
    return base64.b32encode(secrets.token_bytes(15)).decode().lower()


class ChatService:
    def __init__(
        self,
        store: EventStore,
        clock: Callable[[], str] = iso_now,
        ids: Callable[[], str] = new_id,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        self.sleep = sleep
        self.max_attempts = max_attempts

    # --- the commands, as callers use them ---------------------------------------------------

    def create_room(
        self, actor: str, name: str, members: tuple[str, ...] = (), client_id: str = ""
    ) -> Outcome:
        return self.execute(actor, CreateRoom("", name, members, client_id))

    def open_dm(self, actor: str, peer: str) -> Outcome:
        return self.execute(actor, OpenDm(peer))

    def invite(self, actor: str, room_id: str, user_id: str, client_id: str = "") -> Outcome:
        return self.execute(actor, Invite(room_id, user_id, client_id))

    def leave(self, actor: str, room_id: str) -> Outcome:
        return self.execute(actor, Leave(room_id))

    def send(
        self,
        actor: str,
        room_id: str,
        text: str,
        client_id: str = "",
        attachments: tuple[Attachment, ...] = (),
    ) -> Outcome:
        return self.execute(actor, Send(room_id, text, client_id, attachments))

    def edit(self, actor: str, room_id: str, seq: int, text: str) -> Outcome:
        return self.execute(actor, Edit(room_id, seq, text))

    def delete(self, actor: str, room_id: str, seq: int) -> Outcome:
        return self.execute(actor, Delete(room_id, seq))

    def mark_read(self, actor: str, room_id: str, seq: int) -> Outcome:
        return self.execute(actor, MarkRead(room_id, seq))

    # --- the one path every command takes -----------------------------------------------------

    def execute(self, actor: str, command: Command) -> Outcome:
        """Run a command; the `client_id` of a `RECORDED` one makes it idempotent for this actor."""
        check_id(actor, "a user id")
        client_id = command.client_id
        if client_id:
            check_id(client_id, "a client id")
        if isinstance(command, CreateRoom) and not command.room_id:
            # A retried creation must address the same room, so its id follows from the client id.
            room_id = _derived_id(actor, client_id) if client_id else self.ids()
            command = msgspec.structs.replace(command, room_id=room_id)
        check_command(command)
        key = f"{actor}#{client_id}" if client_id and isinstance(command, RECORDED) else None
        print_ = _fingerprint(command)
        for attempt in range(self.max_attempts):
            try:
                loaded = self.store.load(_request(actor, command, key))
                if loaded.record is not None:
                    return self._replayed(loaded.record, command)
                append, outcome = self._decide(actor, command, loaded, key, print_)
                if append is None:
                    return outcome
                self.store.append(append)
            except VersionConflict:
                self.sleep(min(0.001 * 2**attempt, 0.05) * random.random())
            except Throttled:  # DynamoDB wants fewer requests: back off for longer
                self.sleep(min(0.02 * 2**attempt, 1.0) * random.random())
            except DuplicateCommand:
                continue  # a concurrent retry of the same command won: load its record
            else:
                return outcome
        raise Busy("the room is very busy; retry the same command")

    def _decide(
        self, actor: str, command: Command, loaded: Loaded, key: str | None, print_: str
    ) -> tuple[Append | None, Outcome]:
        """The events of `command` on the loaded state, and the append that would commit them."""
        room = loaded.room
        head: RoomState | ReaderState | None
        if isinstance(command, MarkRead):
            room_id, stream, head = (
                command.room_id,
                reader_stream(actor, command.room_id),
                loaded.reader,
            )
            events = decide_read(command, actor, room, loaded.message, loaded.reader)
        else:
            room_id = room_of(command, actor)
            stream, head = room_stream(room_id), room
            events = decide(command, actor, room, loaded.message)
        if not events:
            return None, Outcome(room_id, room.version if room is not None else 0)
        expected = head.version if head is not None else 0
        envelopes = self._envelopes(stream, expected, actor, key or self.ids(), events)
        new_head = _fold(head, envelopes)
        seq = new_head.version if isinstance(new_head, RoomState) else room.version if room else 0
        record = None
        if key is not None:
            last = expected + len(events)
            record = CommandRecord(key, print_, stream, room_id, expected + 1, last)
        relied_on = room.members if room is not None else frozenset()
        append = Append(stream, expected, envelopes, new_head, record, room_id, relied_on)
        return append, Outcome(room_id, seq, envelopes)

    def _envelopes(
        self, stream: str, expected: int, actor: str, command_id: str, events: tuple[Event, ...]
    ) -> tuple[Envelope, ...]:
        at = self.clock()
        return tuple(
            Envelope(
                stream,
                expected + i,
                event_type(event),
                type(event).V,
                at,
                actor,
                self.ids(),
                command_id,
                event,
            )
            for i, event in enumerate(events, start=1)
        )

    def _replayed(self, record: CommandRecord, command: Command) -> Outcome:
        known = (_fingerprint(command), _digest(fingerprint_before_client_ids(command)))
        if record.fingerprint not in known:
            raise IdempotencyKeyReused("this client id was already used for a different command")
        events = tuple(self.store.read_stream(record.stream, record.first - 1, record.last))
        seq = record.last if is_room_stream(record.stream) else 0
        return Outcome(record.room_id, seq, events, duplicate=True)


def _derived_id(actor: str, client_id: str) -> str:
    return hashlib.blake2b(f"{actor}\x00{client_id}".encode(), digest_size=15).hexdigest()


def _fingerprint(command: Command) -> str:
    return _digest(fingerprint(command))


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _request(actor: str, command: Command, key: str | None) -> LoadRequest:
    """What to load for a command: the room's head, the reader's head, the addressed message."""
    if isinstance(command, MarkRead):
        return LoadRequest(
            room_stream(command.room_id),
            reader_stream(actor, command.room_id),
            key,
            command.seq,
            at_or_before=True,
            members=concerned_members(command, actor),
        )
    return LoadRequest(
        room_stream(room_of(command, actor)),
        None,
        key,
        target_seq(command),
        members=concerned_members(command, actor),
    )


def _fold(
    head: RoomState | ReaderState | None, envelopes: tuple[Envelope, ...]
) -> RoomState | ReaderState:
    state = head
    for envelope in envelopes:
        if envelope.stream.startswith(READ_PREFIX):
            state = evolve_reader(state if isinstance(state, ReaderState) else None, envelope)
        else:
            state = evolve_room(state if isinstance(state, RoomState) else None, envelope)
    assert state is not None
    return state

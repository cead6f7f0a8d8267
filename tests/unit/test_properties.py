"""Properties of the whole model over random histories of a few users in a few rooms.

Histories mix commands that succeed with commands that the rules refuse (non-members, unknown
rooms, other people's messages, empty or oversized texts, reused client ids...): a refusal is part
of the history, and must leave no trace in the log.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
)

from application.memory import InMemoryEventStore, InMemoryViewStore
from application.ports import LoadRequest
from application.service import ChatService
from domain import limits
from domain.errors import DirectMessageRule, DomainError, NotAMember, RoomNotFound
from domain.events import Envelope, MessageCreated
from domain.ids import room_stream
from domain.projection import Views, project
from domain.rooms import RoomState
from tests.unit.support import active_members, attachment, make_service, memory

USERS = ("ann", "ben", "cat", "dan")
UNKNOWN_ROOM = "nowhere"

users = st.sampled_from(USERS)
valid_texts = st.sampled_from(["hi", "hello there", "ok", "é" * 150])
refused_texts = st.sampled_from(["", "  ", "x" * (limits.MAX_TEXT_CHARS + 1)])
texts = st.one_of(valid_texts, valid_texts, refused_texts)
client_ids = st.sampled_from(["", "", "m1", "m2"])
# How far before the room's head a command aims (-1 aims past the head).
backs = st.integers(min_value=-1, max_value=6)
# Which of the rooms created so far a command addresses (-1: a room that does not exist).
room_indexes = st.one_of(st.just(0), st.integers(min_value=-1, max_value=4))


@dataclass(frozen=True)
class Op:
    """One command of a history, addressing one of the rooms created so far (or none)."""

    action: str
    actor: str
    room: int = 0
    other: str = ""
    back: int = 0
    text: str = ""
    client_id: str = ""
    others: tuple[str, ...] = ()
    # Edits and deletes aim at the actor's own latest message in the room, or at `back`.
    mine: bool = False
    # A send attaches a file of its room, or (refused) a file of another room.
    attach: str = ""

    def run(self, chat: ChatService, rooms: list[str]) -> None:
        room = rooms[self.room % len(rooms)] if self.room >= 0 else UNKNOWN_ROOM
        events = memory(chat).read_stream(room_stream(room))
        seq = len(events) - self.back
        if self.mine:
            own = [
                e.version for e in events if e.actor == self.actor and e.type == "message.created"
            ]
            seq = own[-1] if own else seq
        if self.action == "create":
            outcome = chat.create_room(self.actor, self.text, self.others, self.client_id)
        elif self.action == "dm":
            outcome = chat.open_dm(self.actor, self.other)
        elif self.action == "invite":
            outcome = chat.invite(self.actor, room, self.other)
        elif self.action == "leave":
            outcome = chat.leave(self.actor, room)
        elif self.action == "send":
            files = (attachment(room if self.attach == "own" else "elsewhere"),)
            attached = files if self.attach else ()
            outcome = chat.send(self.actor, room, self.text, self.client_id, attached)
        elif self.action == "edit":
            outcome = chat.edit(self.actor, room, seq, self.text)
        elif self.action == "delete":
            outcome = chat.delete(self.actor, room, seq)
        else:
            outcome = chat.mark_read(self.actor, room, seq)
        if outcome.room_id not in rooms:
            rooms.append(outcome.room_id)


def ops_of(action: str, **fields: st.SearchStrategy[object]) -> st.SearchStrategy[Op]:
    return st.builds(Op, action=st.just(action), actor=users, **fields)


# Repeated entries weight the mix towards what builds a history: sends, edits, invites, reads.
operations = st.one_of(
    ops_of(
        "create",
        others=st.lists(users, max_size=3).map(tuple),
        text=st.sampled_from(["team", "", "n" * 101]),
        client_id=client_ids,
    ),
    ops_of("dm", other=users),
    ops_of("invite", room=room_indexes, other=users),
    ops_of("invite", room=room_indexes, other=users),
    ops_of("invite", room=room_indexes, other=users),
    ops_of("leave", room=room_indexes),
    ops_of("send", room=room_indexes, text=texts, client_id=client_ids),
    ops_of("send", room=room_indexes, text=texts),
    ops_of("send", room=room_indexes, text=texts),
    ops_of("send", room=room_indexes, text=texts, attach=st.sampled_from(["own", "own", "other"])),
    ops_of("edit", room=room_indexes, back=backs, text=texts),
    ops_of("edit", room=room_indexes, text=texts, mine=st.just(True)),
    ops_of("edit", room=room_indexes, text=texts, mine=st.just(True)),
    ops_of("delete", room=room_indexes, back=backs),
    ops_of("delete", room=room_indexes, mine=st.just(True)),
    ops_of("read", room=room_indexes, back=backs),
    ops_of("read", room=room_indexes, back=backs),
)
histories = st.lists(operations, min_size=20, max_size=100)


def play(ops: list[Op]) -> InMemoryEventStore:
    """Run a history from a lobby of everyone; refused commands are part of it."""
    chat = make_service()
    rooms = [chat.create_room("ann", "lobby", USERS).room_id]
    for op in ops:
        with contextlib.suppress(DomainError):
            op.run(chat, rooms)
    return memory(chat)


def by_stream(events: list[Envelope]) -> dict[str, list[Envelope]]:
    streams: dict[str, list[Envelope]] = defaultdict(list)
    for event in events:
        streams[event.stream].append(event)
    return streams


# --- 1. replay equals live ---------------------------------------------------------------------


@given(ops=histories, data=st.data())
def test_replaying_the_log_in_any_stream_order_rebuilds_the_live_views(
    ops: list[Op], data: st.DataObject
) -> None:
    log = play(ops).appended
    live = InMemoryViewStore()  # as the projector sees it: one event at a time, in commit order
    for envelope in log:
        live.apply(project(envelope))

    replayed = Views().fold(sorted(log, key=lambda e: (e.stream, e.version)))
    assert replayed.rows == live.views.rows

    streams = {name: iter(events) for name, events in by_stream(log).items()}
    order = data.draw(st.permutations([e.stream for e in log]), label="stream order")
    interleaved = [next(streams[name]) for name in order]
    assert Views().fold(interleaved).rows == live.views.rows


# --- 2. duplicates and re-deliveries -----------------------------------------------------------


@given(ops=histories, data=st.data())
def test_duplicated_and_late_redelivered_events_change_nothing(
    ops: list[Op], data: st.DataObject
) -> None:
    log = play(ops).appended
    clean = Views().fold(log)

    live = InMemoryViewStore()
    delivered: list[Envelope] = []
    for i, envelope in enumerate(log):
        live.apply(project(envelope))
        delivered.append(envelope)
        for j in data.draw(st.lists(st.integers(0, i), max_size=2), label=f"again after {i}"):
            assert live.apply(project(log[j])) == 0, f"redelivering {log[j]} changed a row"
            delivered.append(log[j])

    assert live.views.rows == clean.rows
    assert Views().fold(delivered).rows == clean.rows


# --- 3. gap-free seqs --------------------------------------------------------------------------


@given(ops=histories)
def test_every_stream_is_numbered_one_to_n_without_gaps(ops: list[Op]) -> None:
    store = play(ops)

    for name, events in by_stream(store.appended).items():
        assert [e.version for e in events] == list(range(1, len(events) + 1)), name
        assert store.streams[name] == events
        ordinals = [e.data.n for e in events if isinstance(e.data, MessageCreated)]
        assert ordinals == list(range(1, len(ordinals) + 1)), name
    assert len({e.event_id for e in store.appended}) == len(store.appended)


# --- 4. member-only rooms ----------------------------------------------------------------------

ACTIONS = ("send", "edit", "delete", "invite", "leave", "read")


class MemberOnlyRooms(RuleBasedStateMachine):
    """A model of who belongs where, checked against the service at every step."""

    rooms = Bundle("rooms")

    def __init__(self) -> None:
        super().__init__()
        self.chat = make_service()
        self.store = memory(self.chat)
        self.members: dict[str, set[str]] = {}

    @rule(target=rooms, actor=users, others=st.lists(users, max_size=3))
    def create_room(self, actor: str, others: list[str]) -> str:
        room = self.chat.create_room(actor, "room", tuple(others)).room_id
        self.members[room] = {actor, *others}
        return room

    @rule(target=rooms, actor=users, peer=users)
    def open_dm(self, actor: str, peer: str) -> object:
        if actor == peer:
            try:
                self.chat.open_dm(actor, peer)
            except DirectMessageRule:
                return multiple()
            raise AssertionError("a DM with yourself was opened")
        room = self.chat.open_dm(actor, peer).room_id
        self.members.setdefault(room, {actor, peer})
        return room

    @rule(
        room=st.one_of(rooms, st.just(UNKNOWN_ROOM)),
        actor=users,
        action=st.sampled_from(ACTIONS),
        other=users,
        back=backs,
        text=texts,
    )
    def act(self, *, room: str, actor: str, action: str, other: str, back: int, text: str) -> None:
        written = len(self.store.appended)
        member = actor in self.members.get(room, set())
        seq = len(self.store.read_stream(room_stream(room))) - back
        try:
            if action == "send":
                self.chat.send(actor, room, text)
            elif action == "edit":
                self.chat.edit(actor, room, seq, text)
            elif action == "delete":
                self.chat.delete(actor, room, seq)
            elif action == "invite":
                self.chat.invite(actor, room, other)
            elif action == "leave":
                self.chat.leave(actor, room)
            else:
                self.chat.mark_read(actor, room, seq)
        except DomainError as error:
            if room not in self.members:
                assert isinstance(error, RoomNotFound), error
            elif not member:
                assert isinstance(error, NotAMember), error
            else:
                assert not isinstance(error, NotAMember | RoomNotFound), error
            assert len(self.store.appended) == written, f"refused {action} wrote events"
            return
        assert member, f"{actor} did {action} in {room} without being a member"
        if action == "invite":
            self.members[room].add(other)
        elif action == "leave":
            self.members[room].discard(actor)

    @invariant()
    def the_rooms_know_exactly_their_members(self) -> None:
        # A load names only the members it asks about (as on DynamoDB): ask about everyone.
        for room, members in self.members.items():
            head = self.store.load(LoadRequest(room_stream(room), members=USERS)).room
            assert isinstance(head, RoomState)
            assert head.members == members, room
            assert head.member_count == len(members), room

    @invariant()
    def the_views_list_exactly_the_members(self) -> None:
        views = Views().fold(self.store.appended)
        for room, members in self.members.items():
            assert active_members(views, room) == members, room


TestMemberOnlyRooms = MemberOnlyRooms.TestCase

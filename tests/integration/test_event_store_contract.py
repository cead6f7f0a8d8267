"""One contract for both event stores: the in-memory fake answers exactly what DynamoDB answers.

Every test runs twice, over `application.memory.InMemoryEventStore` and over
`adapters.event_store.DynamoEventStore` on the moto server, with the same expectations; the last
test drives one history through both side by side and compares every answer. So a rule that the
unit and property tests pass over the fake holds on AWS too: a load names only the members it
asked about, a read marker sees no tombstone, a stale or revoked decision is a version conflict.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from adapters.event_store import DynamoEventStore
from application.memory import InMemoryEventStore
from application.ports import (
    Append,
    CommandRecord,
    DuplicateCommand,
    EventStore,
    Loaded,
    LoadRequest,
    VersionConflict,
)
from application.service import ChatService, Outcome
from domain.errors import DomainError, NotAMember
from domain.events import (
    Attachment,
    Envelope,
    Event,
    MessageCreated,
    ReadMarked,
    RoomCreated,
    UserJoined,
    UserLeft,
    event_type,
)
from domain.ids import reader_stream, room_stream
from domain.rooms import MessageState, ReaderState, RoomState, evolve_room

AT = "2026-11-25T10:00:00.000Z"


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> EventStore:
    if request.param == "memory":
        return InMemoryEventStore()
    dynamodb: DynamoEventStore = request.getfixturevalue("event_store")
    return dynamodb


def service(store: EventStore) -> ChatService:
    """Deterministic: the same history gives the same events, ids included, on either store."""
    ids = itertools.count(1)
    return ChatService(store, clock=lambda: AT, ids=lambda: f"id{next(ids)}", sleep=lambda _: None)


def envelope(stream: str, version: int, event: Event, actor: str = "alice") -> Envelope:
    return Envelope(
        stream, version, event_type(event), type(event).V, AT, actor, f"e-{version}", "c", event
    )


def head(store: EventStore, room_id: str, *members: str) -> RoomState:
    room = store.load(LoadRequest(room_stream(room_id), members=members)).room
    assert room is not None
    return room


def message(
    store: EventStore, room_id: str, seq: int, at_or_before: bool = False
) -> MessageState | None:
    request = LoadRequest(room_stream(room_id), message_seq=seq, at_or_before=at_or_before)
    return store.load(request).message


def versions(store: EventStore, room_id: str) -> list[int]:
    return [e.version for e in store.read_stream(room_stream(room_id))]


# --- the room's head and its memberships -------------------------------------------------------


def test_a_load_names_only_the_members_it_asked_about(store: EventStore) -> None:
    room = service(store).create_room("alice", "General", ("bob", "carol")).room_id

    loaded = store.load(LoadRequest(room_stream(room), members=("bob", "dave")))

    assert loaded == Loaded(
        RoomState(room, "group", "General", frozenset({"bob"}), version=1, member_count=3)
    )


def test_a_load_naming_no_member_gets_the_head_as_stored_with_its_counters_only(
    store: EventStore,
) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General", ("bob", "carol")).room_id
    chat.send("bob", room, "hello")

    assert head(store, room) == RoomState(
        room, "group", "General", frozenset(), 2, messages=1, last_message_seq=2, member_count=3
    )


def test_a_room_that_does_not_exist_loads_as_nothing_whoever_is_named(store: EventStore) -> None:
    request = LoadRequest(
        room_stream("nowhere"), reader_stream("bob", "nowhere"), "bob#c-1", 3, members=("bob",)
    )

    assert store.load(request) == Loaded()
    assert store.load(LoadRequest()) == Loaded()


def test_a_direct_message_room_names_its_pair(store: EventStore) -> None:
    dm = service(store).open_dm("bob", "alice").room_id

    assert head(store, dm, "alice", "bob", "carol") == RoomState(
        dm, "dm", "", frozenset({"alice", "bob"}), 1, member_count=2
    )


def test_a_leave_and_an_invitation_move_the_membership(store: EventStore) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General", ("bob",)).room_id

    chat.leave("bob", room)
    assert head(store, room, "alice", "bob") == RoomState(
        room, "group", "General", frozenset({"alice"}), 2, member_count=1
    )
    with pytest.raises(NotAMember):
        chat.send("bob", room, "still here?")

    chat.invite("alice", room, "bob")
    assert head(store, room, "alice", "bob") == RoomState(
        room, "group", "General", frozenset({"alice", "bob"}), 3, member_count=2
    )
    assert chat.send("bob", room, "back again").seq == 4


def test_a_reader_head_is_loaded_beside_the_room(store: EventStore) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General", ("bob",)).room_id
    sent = chat.send("alice", room, "hi")
    chat.mark_read("bob", room, sent.seq)

    loaded = store.load(
        LoadRequest(room_stream(room), reader_stream("bob", room), members=("bob",))
    )

    assert loaded == Loaded(
        RoomState(room, "group", "General", frozenset({"bob"}), 2, 1, 2, member_count=2),
        ReaderState("bob", room, version=1, seq=2),
    )
    assert store.load(LoadRequest(reader_stream=reader_stream("alice", room))) == Loaded()


# --- messages ----------------------------------------------------------------------------------


def test_a_message_loads_with_its_author_ordinal_and_attachments(store: EventStore) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General").room_id
    photo = Attachment(f"rooms/{room}/photo.png", "photo.png", "image/png", 1024)
    chat.send("alice", room, "first")
    sent = chat.send("alice", room, "look", attachments=(photo,))

    assert message(store, room, sent.seq) == MessageState(3, 2, "alice", has_attachments=True)


def test_a_deleted_message_loads_as_deleted(store: EventStore) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General").room_id
    sent = chat.send("alice", room, "oops")
    chat.delete("alice", room, sent.seq)

    assert message(store, room, sent.seq) == MessageState(2, 1, "alice", deleted=True)


def test_a_read_marker_counts_a_deleted_message_without_reading_its_tombstone(
    store: EventStore,
) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General").room_id
    sent = chat.send("alice", room, "oops")
    chat.delete("alice", room, sent.seq)

    assert message(store, room, sent.seq, at_or_before=True) == MessageState(2, 1, "alice")


def test_a_seq_that_is_no_message_loads_no_message(store: EventStore) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General").room_id
    chat.send("alice", room, "one")
    chat.invite("alice", room, "carol")

    for seq in (-1, 0, 1, 3, 4, 99):
        assert message(store, room, seq) is None, seq


def test_at_or_before_finds_the_newest_message_up_to_the_seq_until_the_last_message(
    store: EventStore,
) -> None:
    """Past the room's last message a read marker counts the head's messages: nothing is looked
    up, so nothing is found."""
    chat = service(store)
    room = chat.create_room("alice", "General").room_id
    chat.send("alice", room, "one")  # 2
    chat.invite("alice", room, "carol")  # 3
    chat.invite("alice", room, "dave")  # 4
    chat.send("carol", room, "two")  # 5
    chat.invite("alice", room, "erin")  # 6
    one, two = MessageState(2, 1, "alice"), MessageState(5, 2, "carol")

    found = {seq: message(store, room, seq, at_or_before=True) for seq in range(-1, 8)}

    assert found == {-1: None, 0: None, 1: None, 2: one, 3: one, 4: one, 5: two, 6: None, 7: None}


# --- command records ---------------------------------------------------------------------------


def test_a_command_record_is_loaded_by_its_key(store: EventStore) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General").room_id
    chat.send("alice", room, "once", client_id="c-1")

    record = store.load(LoadRequest(command_key="alice#c-1")).record

    assert record is not None
    assert record == CommandRecord("alice#c-1", record.fingerprint, room_stream(room), room, 2, 2)
    assert store.load(LoadRequest(command_key="alice#c-2")) == Loaded()


def test_a_resent_command_answers_its_first_outcome_and_writes_nothing(store: EventStore) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General").room_id
    first = chat.send("alice", room, "once", client_id="c-1")

    again = chat.send("alice", room, "once", client_id="c-1")

    assert again == Outcome(room, first.seq, first.events, duplicate=True)
    assert versions(store, room) == [1, 2]


def test_a_used_command_record_makes_an_append_a_duplicate_even_from_a_stale_version(
    store: EventStore,
) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General").room_id
    chat.send("alice", room, "once", client_id="c-1")
    late = envelope(room_stream(room), 2, MessageCreated("once", 1))
    record = CommandRecord("alice#c-1", "f", room_stream(room), room, 2, 2)

    with pytest.raises(DuplicateCommand):
        store.append(
            Append(room_stream(room), 1, (late,), head(store, room), record, room, frozenset())
        )
    assert versions(store, room) == [1, 2]


# --- conditions of an append -------------------------------------------------------------------


def test_an_append_from_a_stale_version_is_a_conflict_and_writes_nothing(
    store: EventStore,
) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General").room_id
    chat.send("alice", room, "moves the head to 2")
    stale = envelope(room_stream(room), 2, MessageCreated("decided on 1", 1))

    with pytest.raises(VersionConflict):
        store.append(Append(room_stream(room), 1, (stale,), head(store, room), None, room))
    assert [e.data for e in store.read_stream(room_stream(room), after=1)] == [
        MessageCreated("moves the head to 2", 1)
    ]


def test_a_stream_is_created_once(store: EventStore) -> None:
    room = service(store).create_room("alice", "General").room_id
    again = envelope(room_stream(room), 1, RoomCreated(room, "group", "Again", ("alice",)))

    with pytest.raises(VersionConflict):
        store.append(Append(room_stream(room), 0, (again,), evolve_room(None, again), None, room))
    assert head(store, room).name == "General"


def test_an_event_in_the_log_is_never_overwritten(store: EventStore) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General").room_id
    chat.send("alice", room, "original")
    current = head(store, room, "alice")
    rewrite = envelope(room_stream(room), 2, MessageCreated("rewritten", 1))

    with pytest.raises(VersionConflict):  # the head's version holds, the event's item exists
        store.append(Append(room_stream(room), 2, (rewrite,), current, None, room))
    assert [e.data for e in store.read_stream(room_stream(room), after=1)] == [
        MessageCreated("original", 1)
    ]


def test_an_append_relying_on_a_membership_since_revoked_is_a_conflict(
    store: EventStore,
) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General", ("bob",)).room_id
    chat.leave("bob", room)
    current = head(store, room)

    def sent_by(actor: str) -> Append:
        sent = envelope(room_stream(room), 3, MessageCreated("hi", 1), actor)
        relied_on = frozenset({actor})
        return Append(
            room_stream(room), 2, (sent,), evolve_room(current, sent), None, room, relied_on
        )

    with pytest.raises(VersionConflict):
        store.append(sent_by("bob"))
    assert versions(store, room) == [1, 2]
    store.append(sent_by("alice"))  # the same head, relying on a member who still is one
    assert versions(store, room) == [1, 2, 3]


def test_a_read_marker_of_a_reader_who_left_is_a_conflict(store: EventStore) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General", ("bob",)).room_id
    chat.send("alice", room, "hi")
    chat.leave("bob", room)
    stream = reader_stream("bob", room)
    marked = envelope(stream, 1, ReadMarked(room, 2, 1), "bob")
    reader = ReaderState("bob", room, 1, 2)

    with pytest.raises(VersionConflict):
        store.append(Append(stream, 0, (marked,), reader, None, room, frozenset({"bob"})))
    assert store.read_stream(stream) == []
    assert store.load(LoadRequest(reader_stream=stream)) == Loaded()


def test_joining_while_in_or_leaving_while_out_is_a_conflict(store: EventStore) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General", ("bob",)).room_id
    current = head(store, room, "alice")
    stream = room_stream(room)
    rejoined = envelope(stream, 2, UserJoined("bob", "alice"))
    outsider_left = envelope(stream, 2, UserLeft("carol"), "carol")

    with pytest.raises(VersionConflict):
        store.append(Append(stream, 1, (rejoined,), current, None, room, frozenset({"alice"})))
    with pytest.raises(VersionConflict):
        store.append(Append(stream, 1, (outsider_left,), current, None, room, frozenset({"carol"})))
    assert versions(store, room) == [1]
    assert head(store, room, "alice", "bob", "carol").members == {"alice", "bob"}


def test_a_load_may_not_name_the_same_member_twice(store: EventStore) -> None:
    room = service(store).create_room("alice", "General", ("bob",)).room_id

    with pytest.raises((ValueError, ClientError)):
        store.load(LoadRequest(room_stream(room), members=("bob", "bob")))


def test_an_append_of_more_items_than_a_transaction_holds_is_refused_whole(
    store: EventStore,
) -> None:
    """A room is created with its memberships in one transaction of at most 100 items (the rules
    allow 90 members): an event, a head and 100 memberships are too many."""
    crowd = tuple(f"user{i:03d}" for i in range(100))
    created = envelope(room_stream("big"), 1, RoomCreated("big", "group", "Big", crowd))

    with pytest.raises((ValueError, ClientError)):
        store.append(
            Append(room_stream("big"), 0, (created,), evolve_room(None, created), None, "big")
        )
    assert store.load(LoadRequest(room_stream("big"), members=crowd[:2])) == Loaded()
    assert store.read_stream(room_stream("big")) == []


# --- reading the log ---------------------------------------------------------------------------


def test_a_stream_reads_the_events_after_one_version_up_to_another(store: EventStore) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General").room_id
    for text in ("a", "b", "c", "d"):
        chat.send("alice", room, text)
    everything = [1, 2, 3, 4, 5]
    slices: dict[tuple[int, int | None], list[int]] = {
        (0, None): everything,
        (-3, None): everything,
        (0, 99): everything,
        (2, None): [3, 4, 5],
        (0, 2): [1, 2],
        (1, 3): [2, 3],
        (4, 5): [5],
        (5, None): [],
        (9, None): [],
    }

    for (after, upto), expected in slices.items():
        read = store.read_stream(room_stream(room), after, upto)
        assert [e.version for e in read] == expected, (after, upto)
    assert store.read_stream(room_stream("nowhere")) == []


def test_a_scan_returns_every_event_and_nothing_else(store: EventStore) -> None:
    chat = service(store)
    room = chat.create_room("alice", "General", ("bob",)).room_id
    sent = chat.send("alice", room, "hi", client_id="c-9")
    chat.delete("alice", room, sent.seq)
    chat.mark_read("bob", room, 3)
    dm = chat.open_dm("alice", "bob").room_id

    scanned = sorted(store.scan(), key=lambda e: (e.stream, e.version))

    streams = sorted((room_stream(room), reader_stream("bob", room), room_stream(dm)))
    assert scanned == [e for name in streams for e in store.read_stream(name)]
    assert len(scanned) == 5


# --- one history, both stores side by side -----------------------------------------------------

USERS = ("alice", "bob", "carol", "dave")


def play(store: EventStore) -> tuple[list[object], list[str]]:
    """A history of successes and refusals; what each command answered, and the rooms."""
    chat = service(store)
    general = chat.create_room("alice", "General", ("bob", "carol"), client_id="g").room_id
    dm = chat.open_dm("dave", "alice").room_id
    photo = Attachment(f"rooms/{general}/p.png", "p.png", "image/png", 3)
    steps: list[Callable[[], Outcome]] = [
        lambda: chat.send("bob", general, "one", client_id="m-1"),
        lambda: chat.send("bob", general, "one", client_id="m-1"),
        lambda: chat.send("carol", general, "", attachments=(photo,)),
        lambda: chat.invite("carol", general, "dave"),
        lambda: chat.invite("carol", general, "bob"),
        lambda: chat.send("dave", general, "three"),
        lambda: chat.edit("bob", general, 2, "one, edited"),
        lambda: chat.delete("carol", general, 3),
        lambda: chat.edit("carol", general, 3, "too late"),
        lambda: chat.mark_read("dave", general, 5),
        lambda: chat.mark_read("dave", general, 9),
        lambda: chat.leave("bob", general),
        lambda: chat.send("bob", general, "gone"),
        lambda: chat.mark_read("bob", general, 2),
        lambda: chat.send("alice", dm, "hello dave"),
        lambda: chat.mark_read("alice", dm, 1),
        lambda: chat.leave("alice", dm),
        lambda: chat.send("mallory", general, "let me in"),
    ]
    answers: list[object] = []
    for step in steps:
        try:
            answers.append(step())
        except DomainError as error:
            answers.append(error.code)
    return answers, [general, dm]


def test_both_stores_answer_every_load_of_one_history_alike(
    event_store: DynamoEventStore,
) -> None:
    memory = InMemoryEventStore()
    answers, rooms = play(memory)
    assert play(event_store) == (answers, rooms)

    requests = [LoadRequest(command_key=f"{user}#{key}") for user in USERS for key in ("g", "m-1")]
    for room in rooms:
        stream, last = room_stream(room), len(memory.read_stream(room_stream(room)))
        requests += [LoadRequest(stream, members=names) for names in [(), USERS, *zip(USERS)]]
        requests += [
            LoadRequest(stream, reader_stream(user, room), members=(user,)) for user in USERS
        ]
        requests += [
            LoadRequest(stream, message_seq=seq, at_or_before=marker)
            for seq in range(-1, last + 2)
            for marker in (False, True)
        ]
        for after in range(-1, last + 1):  # every slice of the stream
            for upto in (None, *range(max(after, 0) + 1, last + 2)):
                read = memory.read_stream(stream, after, upto)
                assert read == event_store.read_stream(stream, after, upto), (after, upto)
    for request in requests:
        assert memory.load(request) == event_store.load(request), request
    assert sorted(memory.scan(), key=lambda e: (e.stream, e.version)) == sorted(
        event_store.scan(), key=lambda e: (e.stream, e.version)
    )

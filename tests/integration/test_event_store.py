"""The event log on DynamoDB (a moto server over HTTP)."""

from __future__ import annotations

import itertools

import pytest

from adapters.aws import client
from adapters.event_store import DynamoEventStore
from application.ports import Append, VersionConflict
from application.service import ChatService, IdempotencyKeyReused
from domain.errors import AlreadyMember, MessageDeleted, NotAMember
from domain.events import Envelope, MessageCreated, RoomCreated
from domain.rooms import evolve_room
from local.provision import Stage


def service(store: DynamoEventStore) -> ChatService:
    ids = itertools.count(1)
    return ChatService(
        store, clock=lambda: "2026-11-25T10:00:00.000Z", ids=lambda: f"id{next(ids)}"
    )


def test_a_room_and_its_messages_are_appended_with_gap_free_versions(
    event_store: DynamoEventStore,
) -> None:
    chat = service(event_store)
    room = chat.create_room("alice", "General", ("bob",))
    sends = [chat.send("bob", room.room_id, f"hello {i}") for i in range(3)]

    events = event_store.read_stream("room#" + room.room_id)

    assert [e.version for e in events] == [1, 2, 3, 4]
    assert isinstance(events[0].data, RoomCreated)
    assert [s.seq for s in sends] == [2, 3, 4]
    assert [e.data.text for e in events[1:] if isinstance(e.data, MessageCreated)] == [
        "hello 0",
        "hello 1",
        "hello 2",
    ]


def test_reading_after_a_seq_returns_only_the_later_events(event_store: DynamoEventStore) -> None:
    chat = service(event_store)
    room = chat.create_room("alice", "General")
    for i in range(5):
        chat.send("alice", room.room_id, f"m{i}")

    assert [e.version for e in event_store.read_stream("room#" + room.room_id, after=4)] == [5, 6]


def test_a_resent_command_returns_its_original_seq_and_writes_nothing(
    event_store: DynamoEventStore,
) -> None:
    chat = service(event_store)
    room = chat.create_room("alice", "General")
    first = chat.send("alice", room.room_id, "once", client_id="c-1")
    again = chat.send("alice", room.room_id, "once", client_id="c-1")

    assert again.duplicate and again.seq == first.seq == 2
    assert again.message == first.message
    assert len(event_store.read_stream("room#" + room.room_id)) == 2


def test_a_client_id_reused_for_other_content_is_refused(event_store: DynamoEventStore) -> None:
    chat = service(event_store)
    room = chat.create_room("alice", "General")
    chat.send("alice", room.room_id, "once", client_id="c-1")

    with pytest.raises(IdempotencyKeyReused):
        chat.send("alice", room.room_id, "something else", client_id="c-1")


def test_an_append_from_a_stale_version_is_a_conflict(event_store: DynamoEventStore) -> None:
    chat = service(event_store)
    room = chat.create_room("alice", "General")
    chat.send("alice", room.room_id, "moves the head to 2")
    stale = event_store.read_stream("room#" + room.room_id, upto=1)
    head = event_store.room_state(room.room_id)
    assert head is not None

    with pytest.raises(VersionConflict):
        event_store.append(Append("room#" + room.room_id, 1, (stale[0],), head))


def test_a_deleted_message_is_remembered_by_a_tombstone(event_store: DynamoEventStore) -> None:
    chat = service(event_store)
    room = chat.create_room("alice", "General")
    sent = chat.send("alice", room.room_id, "oops")
    chat.delete("alice", room.room_id, sent.seq)

    with pytest.raises(MessageDeleted):
        chat.edit("alice", room.room_id, sent.seq, "fixed")
    assert chat.delete("alice", room.room_id, sent.seq).events == ()


def test_a_read_marker_behind_the_head_counts_the_messages_up_to_it(
    event_store: DynamoEventStore,
) -> None:
    chat = service(event_store)
    room = chat.create_room("alice", "General", ("bob",))
    first = chat.send("alice", room.room_id, "one")
    chat.invite("alice", room.room_id, "carol")  # a non-message event between the messages
    chat.send("alice", room.room_id, "two")

    marked = chat.mark_read("bob", room.room_id, first.seq + 1)

    assert marked.message is not None
    assert marked.message.data.n == 1  # type: ignore[union-attr]


def test_outsiders_cannot_write(event_store: DynamoEventStore) -> None:
    chat = service(event_store)
    room = chat.create_room("alice", "General")

    with pytest.raises(NotAMember):
        chat.send("mallory", room.room_id, "let me in")
    assert len(event_store.read_stream("room#" + room.room_id)) == 1


def test_a_scan_returns_every_event_and_no_bookkeeping_item(
    event_store: DynamoEventStore,
) -> None:
    chat = service(event_store)
    room = chat.create_room("alice", "General", ("bob",))
    sent = chat.send("alice", room.room_id, "hi", client_id="c-9")
    chat.delete("alice", room.room_id, sent.seq)
    chat.mark_read("bob", room.room_id, 3)
    chat.open_dm("alice", "bob")

    scanned = sorted((e.stream, e.version) for e in event_store.scan())

    assert len(scanned) == 5
    assert ("room#" + room.room_id, 3) in scanned
    assert ("read#bob#" + room.room_id, 1) in scanned


def test_a_rooms_head_stays_the_same_size_however_many_members_it_has(
    event_store: DynamoEventStore, stage: Stage
) -> None:
    chat = service(event_store)
    small = chat.create_room("alice", "Room", ("bob",))
    large = chat.create_room("alice", "Room", tuple(f"member{i:03d}" for i in range(89)))

    def head_size(room_id: str) -> int:
        key = {"pk": {"S": "room#" + room_id}, "sk": {"N": "0"}}
        item = client("dynamodb").get_item(TableName=stage.tables["events"], Key=key)["Item"]
        return len(item["state"]["S"]) - len(room_id)

    assert head_size(large.room_id) - head_size(small.room_id) <= 2  # the count's digits
    assert chat.send("member088", large.room_id, "the last of 90 can post").seq == 2


def test_membership_follows_joins_and_leaves(event_store: DynamoEventStore) -> None:
    chat = service(event_store)
    room = chat.create_room("alice", "General", ("bob",))

    with pytest.raises(AlreadyMember):
        chat.invite("alice", room.room_id, "bob")
    chat.leave("bob", room.room_id)
    with pytest.raises(NotAMember):
        chat.send("bob", room.room_id, "still here?")
    chat.invite("alice", room.room_id, "bob")

    assert chat.send("bob", room.room_id, "back again").seq == 4  # created, left, invited


def test_an_append_relying_on_a_membership_since_revoked_is_refused(
    event_store: DynamoEventStore,
) -> None:
    """A batch read is no snapshot: a decision may have seen bob as a member just before he left.
    The append itself checks the memberships the decision relied on."""
    chat = service(event_store)
    room = chat.create_room("alice", "General", ("bob",))
    chat.leave("bob", room.room_id)
    head = event_store.room_state(room.room_id)
    assert head is not None and head.version == 2
    stream = "room#" + room.room_id
    stale = Envelope(
        stream, 3, "message.created", 1, "2026-11-25T10:00:00.000Z", "bob", "e", "c",
        MessageCreated("sneaky", 1),
    )  # fmt: skip

    with pytest.raises(VersionConflict):
        event_store.append(
            Append(
                stream,
                2,
                (stale,),
                evolve_room(head, stale),
                None,
                room.room_id,
                frozenset({"bob"}),
            )
        )
    assert len(event_store.read_stream(stream)) == 2


def test_inviting_yourself_is_already_being_a_member(event_store: DynamoEventStore) -> None:
    chat = service(event_store)
    room = chat.create_room("alice", "General")

    with pytest.raises(AlreadyMember):
        chat.invite("alice", room.room_id, "alice")

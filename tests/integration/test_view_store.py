"""The views on DynamoDB: guarded upserts and the queries the API will serve."""

from __future__ import annotations

import itertools

from adapters.event_store import DynamoEventStore
from adapters.view_store import DynamoViewStore
from application.queries import events_after
from application.service import ChatService
from domain.projection import project


def project_all(store: DynamoEventStore, views: DynamoViewStore) -> None:
    for envelope in sorted(store.scan(), key=lambda e: (e.stream, e.version)):
        views.apply(project(envelope))


def chat_on(store: DynamoEventStore) -> ChatService:
    clock = (f"2026-11-25T10:00:{s:02d}.000Z" for s in itertools.count())
    return ChatService(store, clock=lambda: next(clock))


def test_applying_the_same_event_twice_changes_no_row(
    event_store: DynamoEventStore, view_store: DynamoViewStore
) -> None:
    chat = chat_on(event_store)
    room = chat.create_room("alice", "General", ("bob",))
    sent = chat.send("alice", room.room_id, "hello")
    assert sent.message is not None

    assert view_store.apply(project(sent.message)) == 3
    assert view_store.apply(project(sent.message)) == 0


def test_history_pages_backwards_from_a_seq(
    event_store: DynamoEventStore, view_store: DynamoViewStore
) -> None:
    chat = chat_on(event_store)
    room = chat.create_room("alice", "General")
    seqs = [chat.send("alice", room.room_id, f"m{i}").seq for i in range(7)]
    project_all(event_store, view_store)

    newest = view_store.messages(room.room_id, limit=3)
    older = view_store.messages(room.room_id, before=newest[-1]["seq"], limit=3)
    oldest = view_store.messages(room.room_id, before=older[-1]["seq"], limit=3)

    assert [m["seq"] for m in newest + older + oldest] == seqs[::-1]
    assert view_store.messages(room.room_id, before=seqs[0]) == []


def test_members_leave_the_member_list_and_their_inbox(
    event_store: DynamoEventStore, view_store: DynamoViewStore
) -> None:
    chat = chat_on(event_store)
    room = chat.create_room("alice", "General", ("bob", "carol"))
    chat.leave("carol", room.room_id)
    project_all(event_store, view_store)

    assert sorted(view_store.members(room.room_id)) == ["alice", "bob"]
    assert view_store.inbox("carol") == []


def test_the_inbox_lists_the_most_recently_active_room_first_with_its_unread_count(
    event_store: DynamoEventStore, view_store: DynamoViewStore
) -> None:
    chat = chat_on(event_store)
    quiet = chat.create_room("alice", "Quiet", ("bob",))
    busy = chat.create_room("alice", "Busy", ("bob",))
    chat.send("alice", quiet.room_id, "one")
    for i in range(3):
        chat.send("alice", busy.room_id, f"busy {i}")
    dm = chat.open_dm("alice", "bob")
    chat.send("bob", dm.room_id, "psst")
    project_all(event_store, view_store)

    inbox = view_store.inbox("bob")

    assert [(e["room_id"], e["unread"]) for e in inbox] == [
        (dm.room_id, 0),
        (busy.room_id, 3),
        (quiet.room_id, 1),
    ]
    assert inbox[0]["kind"] == "dm" and inbox[0]["peer"] == "alice"
    assert inbox[1]["name"] == "Busy" and inbox[1]["last_message"]["preview"] == "busy 2"


def test_catching_up_returns_the_events_after_a_seq_in_their_public_shape(
    event_store: DynamoEventStore,
) -> None:
    chat = chat_on(event_store)
    room = chat.create_room("alice", "General", ("bob",))
    first = chat.send("alice", room.room_id, "before")
    chat.send("alice", room.room_id, "missed 1")
    chat.edit("alice", room.room_id, first.seq, "before, edited")

    missed = events_after(event_store, room.room_id, after=first.seq)

    assert [(e["seq"], e["type"]) for e in missed] == [
        (3, "message.created"),
        (4, "message.updated"),
    ]
    assert missed[0]["data"]["text"] == "missed 1" and missed[0]["room_id"] == room.room_id
    assert events_after(event_store, room.room_id, after=4) == []

"""The read models: which rows each event writes, guarded writes, and the inbox."""

from __future__ import annotations

import copy
from collections.abc import Callable

from application.service import ChatService, Outcome
from domain.events import Envelope, MessageCreated, RoomCreated
from domain.ids import reader_stream
from domain.projection import (
    READ_GUARD,
    ROOM_GUARD,
    Row,
    Views,
    inbox_entries,
    inbox_key,
    member_key,
    message_key,
    message_sk,
    preview,
    project,
    room_key,
    unread,
)
from tests.unit.support import attachment, inbox_row, memory, room_row, views_of


def inbox_of(views: Views, user: str) -> list[Row]:
    memberships = [
        row for (pk, _), row in views.rows.items() if pk == "inbox#" + user and row.get("member")
    ]
    return inbox_entries(memberships, views.rows)


def test_a_new_room_writes_its_row_a_member_row_and_an_inbox_row_per_member(
    chat: ChatService,
) -> None:
    room = chat.create_room("alice", "general", ("bob",)).room_id

    views = views_of(chat)

    assert set(views.rows) == {
        room_key(room),
        member_key(room, "alice"),
        member_key(room, "bob"),
        inbox_key("alice", room),
        inbox_key("bob", room),
    }
    meta = room_row(views, room)
    assert (meta["name"], meta["kind"], meta["created_by"]) == ("general", "group", "alice")
    assert (meta["last_seq"], meta["message_count"], meta[ROOM_GUARD]) == (1, 0, 1)
    assert inbox_row(views, "bob", room)["member"] is True


def test_every_room_event_moves_the_rooms_last_seq(chat: ChatService, room: str) -> None:
    outcomes: list[Callable[[], Outcome]] = [
        lambda: chat.send("alice", room, "one"),
        lambda: chat.invite("alice", room, "dave"),
        lambda: chat.edit("alice", room, 2, "one, edited"),
        lambda: chat.delete("alice", room, 2),
        lambda: chat.leave("dave", room),
    ]
    for command in outcomes:
        seq = command().seq
        assert room_row(views_of(chat), room)["last_seq"] == seq


def test_a_message_costs_three_writes_whatever_the_rooms_size(chat: ChatService) -> None:
    crowd = tuple(f"user{i}" for i in range(50))
    room = chat.create_room("alice", "big", crowd).room_id

    sent = chat.send("alice", room, "hello everyone")

    assert [w.key for w in project(sent.events[0])] == [
        message_key(room, 2),
        room_key(room),
        inbox_key("alice", room),
    ]


def test_your_own_messages_are_never_unread_for_you(chat: ChatService, room: str) -> None:
    chat.send("bob", room, "one")
    chat.send("alice", room, "two")

    views = views_of(chat)

    assert unread(room_row(views, room), inbox_row(views, "alice", room)) == 0
    assert unread(room_row(views, room), inbox_row(views, "carol", room)) == 2


def test_a_duplicate_event_changes_no_row(chat: ChatService, room: str) -> None:
    chat.send("alice", room, "one")
    chat.mark_read("bob", room, 2)
    views = views_of(chat)
    before = copy.deepcopy(views.rows)

    for envelope in memory(chat).appended:
        assert not any([views.apply(write) for write in project(envelope)])

    assert views.rows == before


def test_an_old_event_delivered_late_does_not_undo_a_newer_one(
    chat: ChatService, room: str
) -> None:
    seq = chat.send("alice", room, "one").seq
    chat.delete("alice", room, seq)
    chat.leave("carol", room)
    views = views_of(chat)
    room_created, message_created = memory(chat).appended[:2]

    views.fold([message_created, room_created])

    assert views.rows[message_key(room, seq)]["deleted"] is True
    assert views.rows[member_key(room, "carol")]["active"] is False
    assert inbox_row(views, "carol", room)["member"] is False


def test_the_two_streams_of_an_inbox_row_do_not_overwrite_each_other(
    chat: ChatService, room: str
) -> None:
    chat.send("alice", room, "one")
    chat.mark_read("bob", room, 2)
    chat.leave("bob", room)
    room_events = memory(chat).read_stream("room#" + room)
    reader_events = memory(chat).read_stream(reader_stream("bob", room))

    room_first = Views().fold(room_events + reader_events)
    reader_first = Views().fold(reader_events + room_events)

    assert room_first.rows == reader_first.rows
    row = inbox_row(room_first, "bob", room)
    assert (row["member"], row["read_seq"], row[ROOM_GUARD], row[READ_GUARD]) == (False, 2, 3, 1)


def test_views_list_their_rows_with_their_keys(chat: ChatService, room: str) -> None:
    items = list(views_of(chat).items())

    assert {"pk": "room#" + room, "sk": "meta"} | room_row(views_of(chat), room) in items
    assert all({"pk", "sk"} <= set(item) for item in items)


def test_message_rows_sort_by_seq_as_text() -> None:
    keys = [message_sk(seq) for seq in (1, 2, 10, 100, 99_999)]

    assert keys == sorted(keys)
    assert message_sk(7) == "msg#000000000007"


def test_a_preview_is_the_text_or_its_start_with_an_ellipsis() -> None:
    assert preview("short") == "short"
    assert preview("a" * 140) == "a" * 140
    assert preview("a" * 141) == "a" * 139 + "…"


def test_a_dm_inbox_row_names_the_peer_and_a_group_one_does_not() -> None:
    created = Envelope(
        "room#dm-1", 1, "room.created", 1, "t", "alice", "e", "c",
        RoomCreated("dm-1", "dm", "", ("alice", "bob")),
    )  # fmt: skip
    views = Views().fold([created])

    assert inbox_row(views, "alice", "dm-1")["peer"] == "bob"
    assert inbox_row(views, "bob", "dm-1")["peer"] == "alice"


# --- unread and the inbox ----------------------------------------------------------------------


def test_unread_is_the_messages_after_the_later_of_the_marker_and_the_join() -> None:
    room = {"message_count": 10}

    assert unread(room, {}) == 10
    assert unread(room, {"read_n": 4}) == 6
    assert unread(room, {"joined_n": 7, "read_n": 4}) == 3
    assert unread(room, {"joined_n": 2, "read_n": 8}) == 2
    assert unread({}, {"read_n": 3}) == 0


def test_the_inbox_lists_rooms_by_last_activity(chat: ChatService) -> None:
    first = chat.create_room("alice", "first").room_id
    second = chat.create_room("alice", "second").room_id
    third = chat.create_room("alice", "third").room_id
    chat.send("alice", first, "bump")

    entries = inbox_of(views_of(chat), "alice")

    assert [e["room_id"] for e in entries] == [first, third, second]
    assert entries[0]["last_activity"] > entries[1]["last_activity"] > entries[2]["last_activity"]


def test_joins_and_reads_do_not_bump_a_room_in_the_inbox(chat: ChatService) -> None:
    old = chat.create_room("alice", "old", ("bob",)).room_id
    new = chat.create_room("alice", "new", ("bob",)).room_id
    chat.send("alice", old, "hello")
    chat.send("alice", new, "hello")

    chat.invite("alice", old, "carol")
    chat.mark_read("bob", old, 3)

    assert [e["room_id"] for e in inbox_of(views_of(chat), "bob")] == [new, old]


def test_the_inbox_computes_unread_and_the_last_message(chat: ChatService) -> None:
    room = chat.create_room("alice", "general", ("bob",)).room_id
    quiet = chat.create_room("alice", "quiet", ("bob",)).room_id
    chat.send("alice", room, "one")  # seq 2
    chat.send("alice", room, "two")  # seq 3
    chat.send("alice", room, "three")  # seq 4
    chat.mark_read("bob", room, 2)

    entries = {e["room_id"]: e for e in inbox_of(views_of(chat), "bob")}

    assert entries[room]["unread"] == 2
    assert entries[room]["read_seq"] == 2
    assert entries[room]["last_message"] == {
        "seq": 4,
        "author": "alice",
        "preview": "three",
        "deleted": False,
    }
    assert entries[quiet]["unread"] == 0
    assert entries[quiet]["last_message"] is None
    assert entries[quiet]["read_seq"] == 1


def test_the_inbox_skips_rooms_whose_row_has_not_arrived() -> None:
    membership = {"room_id": "ghost", "member": True, "joined_seq": 1}

    assert inbox_entries([membership], {}) == []


def test_a_projected_message_keeps_its_ordinal_and_client_id() -> None:
    sent = Envelope(
        "room#r1", 4, "message.created", 1, "t", "bob", "e", "c",
        MessageCreated("hi", 2, client_id="m-1"),
    )  # fmt: skip
    message, meta, author = project(sent)

    assert message.fields["n"] == 2 and message.fields["client_id"] == "m-1"
    assert meta.fields["message_count"] == 2
    assert message.version == meta.version == author.version == 4
    assert author.fields["sent_n"] == 2


def test_folding_the_log_gives_the_rows_applying_each_write_gives(chat: ChatService) -> None:
    room = chat.create_room("alice", "general", ("bob", "carol")).room_id
    dm = chat.open_dm("alice", "bob").room_id
    photo = chat.send("alice", room, "look", attachments=(attachment(room),)).seq
    chat.send("bob", room, "é" * 200, client_id="m-1")
    chat.mark_read("carol", room, photo)
    chat.delete("alice", room, photo)
    chat.leave("carol", room)
    chat.send("bob", dm, "psst")
    chat.invite("bob", room, "carol")
    chat.edit("bob", dm, 2, "psst!")
    chat.mark_read("alice", dm, 3)
    log = memory(chat).appended

    applied = Views()
    for envelope in log:
        for write in project(envelope):
            applied.apply(write)
    in_two_folds = Views().fold(log[:5]).fold(log[5:])

    assert Views().fold(log).rows == applied.rows
    assert in_two_folds.rows == applied.rows


def test_a_message_far_down_a_long_room_lands_on_its_own_row() -> None:
    def sent(seq: int, n: int) -> Envelope:
        return Envelope(
            "room#r1", seq, "message.created", 1, "t", "bob", f"e{seq}", "c",
            MessageCreated(f"message {n}", n),
        )  # fmt: skip

    views = Views().fold([sent(3, 1), sent(50_000, 2), sent(50_001, 3)])

    assert views.rows[message_key("r1", 50_000)]["text"] == "message 2"
    assert views.rows[message_key("r1", 50_001)]["text"] == "message 3"
    assert views.rows[room_key("r1")]["message_count"] == 3

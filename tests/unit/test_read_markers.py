"""Read markers and unread counts: markers only move forward, and unread counts messages."""

from __future__ import annotations

import pytest

from application.service import ChatService
from domain.commands import MarkRead
from domain.errors import NotAMember, RoomNotFound
from domain.events import ReadMarked
from domain.ids import reader_stream
from domain.projection import unread
from domain.rooms import MessageState, ReaderState, RoomState, decide_read
from tests.unit.support import inbox_row, memory, room_row, views_of


def unread_of(chat: ChatService, user: str, room: str) -> int:
    views = views_of(chat)
    return unread(room_row(views, room), inbox_row(views, user, room))


def post(chat: ChatService, room: str, *texts: str, author: str = "alice") -> list[int]:
    return [chat.send(author, room, text).seq for text in texts]


def test_marking_read_moves_the_readers_marker_on_their_own_stream(
    chat: ChatService, room: str
) -> None:
    post(chat, room, "one", "two")  # seqs 2, 3

    outcome = chat.mark_read("bob", room, 3)

    assert outcome.seq == 3
    assert [(e.stream, e.version, e.data) for e in outcome.events] == [
        (reader_stream("bob", room), 1, ReadMarked(room, 3, n=2))
    ]
    assert len(memory(chat).read_stream("room#" + room)) == 3
    row = inbox_row(views_of(chat), "bob", room)
    assert (row["read_seq"], row["read_n"]) == (3, 2)


def test_only_members_mark_a_room_read(chat: ChatService, room: str) -> None:
    post(chat, room, "one")

    with pytest.raises(NotAMember):
        chat.mark_read("mallory", room, 2)
    with pytest.raises(RoomNotFound):
        chat.mark_read("bob", "nowhere", 2)
    assert memory(chat).read_stream(reader_stream("mallory", room)) == []


def test_a_read_marker_only_moves_forward(chat: ChatService, room: str) -> None:
    post(chat, room, "one", "two", "three")  # seqs 2, 3, 4
    chat.mark_read("bob", room, 4)
    written = list(memory(chat).appended)

    backwards = chat.mark_read("bob", room, 2)
    same = chat.mark_read("bob", room, 4)

    assert backwards.events == same.events == ()
    assert memory(chat).appended == written
    assert inbox_row(views_of(chat), "bob", room)["read_seq"] == 4
    assert unread_of(chat, "bob", room) == 0


def test_reading_past_the_head_reads_up_to_the_head(chat: ChatService, room: str) -> None:
    post(chat, room, "one", "two")

    outcome = chat.mark_read("bob", room, 1_000)

    assert [e.data for e in outcome.events] == [ReadMarked(room, 3, n=2)]
    post(chat, room, "three")
    assert unread_of(chat, "bob", room) == 1


def test_unread_counts_the_messages_after_the_marker(chat: ChatService, room: str) -> None:
    seqs = post(chat, room, "one", "two", "three", "four")
    assert unread_of(chat, "bob", room) == 4

    chat.mark_read("bob", room, seqs[1])

    assert unread_of(chat, "bob", room) == 2
    assert unread_of(chat, "carol", room) == 4


def test_sending_a_message_marks_everything_before_it_as_seen_by_its_author(
    chat: ChatService, room: str
) -> None:
    post(chat, room, "theirs", author="alice")
    post(chat, room, "mine", author="bob")

    assert unread_of(chat, "bob", room) == 0
    assert unread_of(chat, "alice", room) == 1


def test_history_from_before_joining_is_never_unread(chat: ChatService, room: str) -> None:
    post(chat, room, "one", "two", "three")
    chat.invite("alice", room, "dave")

    assert unread_of(chat, "dave", room) == 0
    post(chat, room, "four")
    assert unread_of(chat, "dave", room) == 1


def test_reading_old_history_after_joining_does_not_make_it_unread(
    chat: ChatService, room: str
) -> None:
    first, _, _ = post(chat, room, "one", "two", "three")
    chat.invite("alice", room, "dave")
    post(chat, room, "four")

    chat.mark_read("dave", room, first)

    assert inbox_row(views_of(chat), "dave", room)["read_n"] == 1
    assert unread_of(chat, "dave", room) == 1


def test_messages_sent_while_away_are_not_unread_after_coming_back(
    chat: ChatService, room: str
) -> None:
    post(chat, room, "one")
    chat.leave("carol", room)
    post(chat, room, "two", "three")
    chat.invite("alice", room, "carol")

    assert unread_of(chat, "carol", room) == 0
    post(chat, room, "four")
    assert unread_of(chat, "carol", room) == 1


def test_edits_deletes_and_joins_are_not_unread_messages(chat: ChatService, room: str) -> None:
    first, second = post(chat, room, "one", "two")
    chat.mark_read("bob", room, second)

    chat.edit("alice", room, first, "one, edited")
    chat.delete("alice", room, second)
    chat.invite("alice", room, "dave")
    chat.leave("carol", room)

    assert unread_of(chat, "bob", room) == 0


def test_a_marker_on_a_non_message_event_counts_the_messages_before_it(
    chat: ChatService, room: str
) -> None:
    post(chat, room, "one", "two")  # seqs 2, 3
    joined = chat.invite("alice", room, "dave").seq  # seq 4
    post(chat, room, "three")  # seq 5

    outcome = chat.mark_read("bob", room, joined)

    assert [e.data for e in outcome.events] == [ReadMarked(room, joined, n=2)]
    assert unread_of(chat, "bob", room) == 1


def test_reading_a_room_without_messages_reads_nothing(chat: ChatService, room: str) -> None:
    outcome = chat.mark_read("bob", room, 1)

    assert [e.data for e in outcome.events] == [ReadMarked(room, 1, n=0)]
    assert unread_of(chat, "bob", room) == 0


def test_the_inbox_read_seq_is_at_least_where_the_reader_joined(
    chat: ChatService, room: str
) -> None:
    post(chat, room, "one", "two")
    joined = chat.invite("alice", room, "dave").seq

    assert inbox_row(views_of(chat), "dave", room)["joined_seq"] == joined


# --- decide_read on its own --------------------------------------------------------------------

ROOM = RoomState(
    "r1", "group", "general", frozenset({"bob"}), version=6, messages=3, last_message_seq=5
)


def test_a_marker_at_or_past_the_last_message_has_read_every_message() -> None:
    assert decide_read(MarkRead("r1", 5), "bob", ROOM, None, None) == (ReadMarked("r1", 5, 3),)
    assert decide_read(MarkRead("r1", 9), "bob", ROOM, None, None) == (ReadMarked("r1", 6, 3),)


def test_a_marker_before_the_last_message_counts_the_newest_message_it_covers() -> None:
    seen = MessageState(seq=3, n=2, author="alice")

    assert decide_read(MarkRead("r1", 4), "bob", ROOM, seen, None) == (ReadMarked("r1", 4, 2),)


def test_a_message_after_the_marker_is_not_counted_as_read() -> None:
    later = MessageState(seq=5, n=3, author="alice")

    assert decide_read(MarkRead("r1", 4), "bob", ROOM, later, None) == (ReadMarked("r1", 4, 0),)


@pytest.mark.parametrize("seq", [-3, 0, 2, 4])
def test_a_marker_never_moves_back_or_stays_put(seq: int) -> None:
    reader = ReaderState("bob", "r1", version=1, seq=4)

    assert decide_read(MarkRead("r1", seq), "bob", ROOM, None, reader) == ()


def test_each_room_keeps_its_own_small_marker_stream_for_each_reader(
    chat: ChatService, room: str
) -> None:
    other = chat.create_room("alice", "Other", ("bob",)).room_id
    post(chat, room, "one", "two")
    post(chat, other, "elsewhere")
    chat.mark_read("bob", other, 2)

    marked = chat.mark_read("bob", room, 3)

    assert [e.stream for e in marked.events] == [reader_stream("bob", room)]
    assert [e.version for e in marked.events] == [1]
    assert unread_of(chat, "bob", room) == 0 and unread_of(chat, "bob", other) == 0

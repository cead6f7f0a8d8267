"""Direct messages: exactly two people, one room per pair, whoever opens it."""

from __future__ import annotations

import pytest

from application.service import ChatService
from domain.commands import OpenDm
from domain.errors import DirectMessageRule, InvalidInput, NotAMember
from domain.events import RoomCreated
from domain.ids import dm_room_id
from domain.rooms import RoomState, decide
from tests.unit.support import active_members, inbox_row, memory, room_row, views_of


def test_a_direct_message_has_exactly_its_two_members(chat: ChatService) -> None:
    outcome = chat.open_dm("bob", "alice")

    assert outcome.room_id == dm_room_id("alice", "bob")
    assert outcome.seq == 1
    assert [e.data for e in outcome.events] == [
        RoomCreated(outcome.room_id, "dm", "", ("alice", "bob"))
    ]
    assert active_members(views_of(chat), outcome.room_id) == {"alice", "bob"}


def test_the_dm_room_id_does_not_depend_on_who_asks() -> None:
    assert dm_room_id("alice", "bob") == dm_room_id("bob", "alice")
    assert dm_room_id("alice", "bob") != dm_room_id("alice", "carol")
    assert dm_room_id("alice", "bob").startswith("dm-")


@pytest.mark.parametrize("second_opener", ["alice", "bob"])
def test_opening_a_dm_twice_gives_the_same_room_and_writes_nothing(
    chat: ChatService, second_opener: str
) -> None:
    first = chat.open_dm("alice", "bob")
    written = list(memory(chat).appended)

    peer = "bob" if second_opener == "alice" else "alice"
    again = chat.open_dm(second_opener, peer)

    assert again.room_id == first.room_id
    assert again.events == ()
    assert memory(chat).appended == written


def test_reopening_a_dm_answers_with_its_current_seq(chat: ChatService) -> None:
    dm = chat.open_dm("alice", "bob").room_id
    chat.send("alice", dm, "hi")
    chat.send("bob", dm, "hey")

    assert chat.open_dm("bob", "alice").seq == 3


def test_both_people_can_talk_in_a_dm_and_nobody_else_can(chat: ChatService) -> None:
    dm = chat.open_dm("alice", "bob").room_id

    assert chat.send("alice", dm, "hi").seq == 2
    assert chat.send("bob", dm, "hey").seq == 3
    with pytest.raises(NotAMember):
        chat.send("carol", dm, "let me in")


def test_a_dm_takes_no_invites(chat: ChatService) -> None:
    dm = chat.open_dm("alice", "bob").room_id

    with pytest.raises(DirectMessageRule) as refused:
        chat.invite("alice", dm, "carol")
    assert refused.value.code == "dm_rule"
    assert active_members(views_of(chat), dm) == {"alice", "bob"}


def test_a_dm_cannot_be_left(chat: ChatService) -> None:
    dm = chat.open_dm("alice", "bob").room_id

    with pytest.raises(DirectMessageRule):
        chat.leave("bob", dm)
    assert active_members(views_of(chat), dm) == {"alice", "bob"}


def test_a_dm_with_yourself_is_refused(chat: ChatService) -> None:
    with pytest.raises(DirectMessageRule):
        chat.open_dm("alice", "alice")
    assert memory(chat).appended == []


@pytest.mark.parametrize("peer", ["", "b#b", "bob "])
def test_a_dm_needs_a_valid_peer(chat: ChatService, peer: str) -> None:
    with pytest.raises(InvalidInput):
        chat.open_dm("alice", peer)


def test_each_side_of_a_dm_sees_the_other_as_its_peer(chat: ChatService) -> None:
    dm = chat.open_dm("alice", "bob").room_id
    views = views_of(chat)

    assert inbox_row(views, "alice", dm)["peer"] == "bob"
    assert inbox_row(views, "bob", dm)["peer"] == "alice"
    assert inbox_row(views, "alice", dm)["kind"] == room_row(views, dm)["kind"] == "dm"


def test_opening_an_existing_dm_decides_nothing() -> None:
    room_id = dm_room_id("alice", "bob")
    existing = RoomState(room_id, "dm", "", frozenset({"alice", "bob"}), version=4)

    assert decide(OpenDm("alice"), "bob", existing) == ()

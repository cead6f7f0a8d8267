"""Group rooms: who belongs, who may invite, and what a room refuses."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from application.service import ChatService, IdempotencyKeyReused, Outcome, new_id
from domain import limits
from domain.commands import CreateRoom, Invite, Leave
from domain.errors import (
    AlreadyMember,
    DirectMessageRule,
    DomainError,
    InvalidInput,
    MessageNotFound,
    NotAMember,
    RoomExists,
    RoomFull,
    RoomNotFound,
    TooLarge,
)
from domain.events import Envelope, RoomCreated, UserJoined, UserLeft
from domain.rooms import RoomState, decide, evolve_room
from tests.unit.support import active_members, memory, room_row, views_of

RoomAction = Callable[[ChatService, str, str], Outcome]

# Every command addressed to an existing room, as a user who may not be in it would issue it.
ROOM_ACTIONS: dict[str, RoomAction] = {
    "send": lambda chat, actor, room: chat.send(actor, room, "hello"),
    "edit": lambda chat, actor, room: chat.edit(actor, room, 2, "hello"),
    "delete": lambda chat, actor, room: chat.delete(actor, room, 2),
    "invite": lambda chat, actor, room: chat.invite(actor, room, "erin"),
    "leave": lambda chat, actor, room: chat.leave(actor, room),
    "mark_read": lambda chat, actor, room: chat.mark_read(actor, room, 2),
}


def group(room_id: str = "r1", members: frozenset[str] = frozenset({"alice"})) -> RoomState:
    return RoomState(room_id, "group", "general", members, version=1, member_count=len(members))


def test_creating_a_room_makes_the_creator_and_the_listed_people_members(chat: ChatService) -> None:
    outcome = chat.create_room("alice", "general", ("bob", "carol"))

    assert outcome.seq == 1
    assert [e.data for e in outcome.events] == [
        RoomCreated(outcome.room_id, "group", "general", ("alice", "bob", "carol"))
    ]
    assert active_members(views_of(chat), outcome.room_id) == {"alice", "bob", "carol"}


def test_the_creator_is_listed_first_and_each_member_once(chat: ChatService) -> None:
    outcome = chat.create_room("alice", "general", ("bob", "alice", "bob"))

    created = outcome.events[0].data
    assert isinstance(created, RoomCreated)
    assert created.members == ("alice", "bob")


def test_a_room_name_is_trimmed(chat: ChatService) -> None:
    outcome = chat.create_room("alice", "  general  ")

    assert room_row(views_of(chat), outcome.room_id)["name"] == "general"


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_a_room_needs_a_name(chat: ChatService, name: str) -> None:
    with pytest.raises(InvalidInput):
        chat.create_room("alice", name)
    assert memory(chat).appended == []


def test_a_room_name_has_at_most_max_name_chars(chat: ChatService) -> None:
    chat.create_room("alice", "n" * limits.MAX_NAME_CHARS)

    with pytest.raises(TooLarge):
        chat.create_room("alice", "n" * (limits.MAX_NAME_CHARS + 1))


def test_a_new_room_has_at_most_max_initial_members_counting_its_creator(
    chat: ChatService,
) -> None:
    others = tuple(f"user{i}" for i in range(limits.MAX_INITIAL_MEMBERS))
    chat.create_room("alice", "just right", others[:-1])

    with pytest.raises(TooLarge):
        chat.create_room("alice", "one too many", others)


@pytest.mark.parametrize(
    ("actor", "members"),
    [
        ("", ()),
        ("al#ice", ()),
        (" alice", ()),
        ("alice", ("bob\n",)),
        ("alice", ("b" * (limits.MAX_ID_CHARS + 1),)),
    ],
)
def test_user_ids_must_be_short_printable_and_free_of_hashes(
    chat: ChatService, actor: str, members: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInput):
        chat.create_room(actor, "general", members)
    assert memory(chat).appended == []


def test_a_room_id_that_is_taken_is_refused() -> None:
    with pytest.raises(RoomExists):
        decide(CreateRoom("r1", "again"), "bob", group("r1"))


def test_a_retried_create_room_with_the_same_client_id_returns_the_same_room(
    chat: ChatService,
) -> None:
    first = chat.create_room("alice", "general", ("bob",), client_id="c-1")
    written = len(memory(chat).appended)

    retry = chat.create_room("alice", "general", ("bob",), client_id="c-1")

    assert retry.room_id == first.room_id
    assert retry.seq == first.seq == 1
    assert retry.duplicate and not first.duplicate
    assert retry.events == first.events
    assert len(memory(chat).appended) == written


def test_a_client_id_reused_for_a_different_room_is_refused(chat: ChatService) -> None:
    chat.create_room("alice", "general", client_id="c-1")

    with pytest.raises(IdempotencyKeyReused) as refused:
        chat.create_room("alice", "random", client_id="c-1")
    assert refused.value.code == "idempotency_key_reused"


def test_client_ids_belong_to_their_user(chat: ChatService) -> None:
    mine = chat.create_room("alice", "general", client_id="c-1")
    theirs = chat.create_room("bob", "general", client_id="c-1")

    assert mine.room_id != theirs.room_id
    assert not theirs.duplicate


def test_a_member_can_invite_someone_who_then_belongs(chat: ChatService, room: str) -> None:
    outcome = chat.invite("bob", room, "dave")

    assert [e.data for e in outcome.events] == [UserJoined("dave", "bob", joined_n=0)]
    assert outcome.seq == 2
    assert active_members(views_of(chat), room) == {"alice", "bob", "carol", "dave"}
    chat.send("dave", room, "hi all")


def test_only_a_member_can_invite(chat: ChatService, room: str) -> None:
    with pytest.raises(NotAMember):
        chat.invite("mallory", room, "eve")
    assert active_members(views_of(chat), room) == {"alice", "bob", "carol"}


def test_inviting_a_member_again_is_refused(chat: ChatService, room: str) -> None:
    with pytest.raises(AlreadyMember):
        chat.invite("alice", room, "bob")


def test_a_full_room_takes_no_more_invites() -> None:
    everyone = frozenset(f"user{i}" for i in range(limits.MAX_ROOM_MEMBERS - 1)) | {"alice"}
    almost_full = group(members=everyone - {"user0"})

    assert decide(Invite("r1", "user0"), "alice", almost_full)
    with pytest.raises(RoomFull):
        decide(Invite("r1", "newcomer"), "alice", group(members=everyone))


def test_a_full_room_is_known_by_its_count_even_when_only_some_members_are_loaded() -> None:
    """A stored head knows the count; only the actor's and the invitee's memberships are loaded."""
    loaded = RoomState(
        "r1", "group", "general", frozenset({"alice"}), 9, member_count=limits.MAX_ROOM_MEMBERS
    )

    with pytest.raises(RoomFull):
        decide(Invite("r1", "newcomer"), "alice", loaded)


def test_a_member_who_leaves_no_longer_belongs(chat: ChatService, room: str) -> None:
    outcome = chat.leave("carol", room)

    assert [e.data for e in outcome.events] == [UserLeft("carol")]
    assert active_members(views_of(chat), room) == {"alice", "bob"}


@pytest.mark.parametrize("action", ROOM_ACTIONS.values(), ids=ROOM_ACTIONS.keys())
def test_someone_who_left_can_no_longer_act_in_the_room(
    chat: ChatService, room: str, action: RoomAction
) -> None:
    chat.send("carol", room, "bye")  # seq 2, carol's own message
    chat.leave("carol", room)
    written = len(memory(chat).appended)

    with pytest.raises(NotAMember):
        action(chat, "carol", room)
    assert len(memory(chat).appended) == written


@pytest.mark.parametrize("action", ROOM_ACTIONS.values(), ids=ROOM_ACTIONS.keys())
def test_a_non_member_is_told_what_a_stranger_to_no_room_is_told_and_nothing_is_written(
    chat: ChatService, room: str, action: RoomAction
) -> None:
    chat.send("alice", room, "members only")
    written = len(memory(chat).appended)

    with pytest.raises(NotAMember) as refused:
        action(chat, "mallory", room)
    with pytest.raises(RoomNotFound) as nowhere:
        action(chat, "mallory", "no-such-room")
    assert refused.value.code == nowhere.value.code == "room_not_found"
    assert refused.value.message.replace(room, "no-such-room") == nowhere.value.message
    assert len(memory(chat).appended) == written


@pytest.mark.parametrize("action", ROOM_ACTIONS.values(), ids=ROOM_ACTIONS.keys())
def test_an_unknown_room_gets_room_not_found(chat: ChatService, action: RoomAction) -> None:
    with pytest.raises(RoomNotFound) as refused:
        action(chat, "alice", "nowhere")
    assert refused.value.code == "room_not_found"
    assert memory(chat).appended == []


def test_someone_who_left_can_be_invited_back(chat: ChatService, room: str) -> None:
    chat.leave("carol", room)
    chat.invite("alice", room, "carol")

    assert active_members(views_of(chat), room) == {"alice", "bob", "carol"}
    chat.send("carol", room, "I'm back")


def test_every_room_event_takes_the_next_seq(chat: ChatService, room: str) -> None:
    seqs = [
        chat.send("alice", room, "one").seq,
        chat.invite("alice", room, "dave").seq,
        chat.send("dave", room, "two").seq,
        chat.leave("bob", room).seq,
    ]

    assert seqs == [2, 3, 4, 5]
    assert [e.version for e in memory(chat).read_stream("room#" + room)] == [1, 2, 3, 4, 5]


def test_events_record_who_did_what_and_when(chat: ChatService, room: str) -> None:
    sent = chat.send("bob", room, "hello")

    envelope = sent.events[0]
    assert envelope.stream == "room#" + room
    assert envelope.actor == "bob"
    assert envelope.type == "message.created"
    assert envelope.at.endswith("Z")
    assert envelope.event_id and envelope.command_id
    assert envelope.event_id != memory(chat).appended[0].event_id


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (NotAMember, "room_not_found"),
        (RoomNotFound, "room_not_found"),
        (TooLarge, "too_large"),
        (InvalidInput, "invalid"),
        (AlreadyMember, "already_member"),
        (DirectMessageRule, "dm_rule"),
        (MessageNotFound, "message_not_found"),
    ],
)
def test_errors_carry_a_stable_code_and_a_human_message(
    error: type[DomainError], code: str
) -> None:
    raised = error("something went wrong")

    assert raised.code == code
    assert raised.message == "something went wrong" == str(raised)
    assert repr(raised) == f"{error.__name__}({code!r}, 'something went wrong')"


def test_a_refusal_explains_itself(chat: ChatService, room: str) -> None:
    with pytest.raises(DomainError) as refused:
        chat.invite("mallory", room, "eve")

    assert refused.value.code == "room_not_found"
    assert f"no room {room} that you are in" in refused.value.message


def test_a_room_state_folds_membership_and_messages_from_its_events() -> None:
    def env(version: int, event: RoomCreated | UserJoined | UserLeft) -> Envelope:
        return Envelope("room#r1", version, "", 1, "t", "alice", f"e{version}", "c", event)

    state = None
    for envelope in [
        env(1, RoomCreated("r1", "group", "general", ("alice", "bob"))),
        env(2, UserJoined("carol", "alice")),
        env(3, UserLeft("bob")),
    ]:
        state = evolve_room(state, envelope)

    assert state == RoomState(
        "r1", "group", "general", frozenset({"alice", "carol"}), version=3, member_count=2
    )


def test_no_room_event_can_precede_its_creation() -> None:
    with pytest.raises(ValueError, match=r"before room\.created"):
        evolve_room(
            None, Envelope("room#r1", 1, "user.left", 1, "t", "bob", "e", "c", UserLeft("bob"))
        )


def test_leaving_is_decided_for_the_actor_only() -> None:
    assert decide(Leave("r1"), "alice", group()) == (UserLeft("alice"),)


def test_a_group_room_cannot_take_an_id_kept_for_direct_messages() -> None:
    with pytest.raises(InvalidInput):
        decide(CreateRoom("dm-0123", "Sneaky"), "alice", None)


def test_room_ids_cannot_be_foretold_from_pythons_seeded_random() -> None:
    random.seed(7)
    first = new_id()
    random.seed(7)

    assert new_id() != first
    assert len(first) == 24

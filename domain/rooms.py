"""The room aggregate: state folded from its events (`evolve`) and the rules (`decide`).

`decide` takes the state it needs and returns the new events; it never raises for a retry
that changes nothing (opening an existing DM, deleting a deleted message, reading backwards):
it returns no events and the caller answers with the current state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from domain import limits
from domain.commands import (
    CreateRoom,
    Delete,
    Edit,
    Invite,
    Leave,
    MarkRead,
    OpenDm,
    RoomCommand,
    Send,
)
from domain.errors import (
    AlreadyMember,
    DirectMessageRule,
    InvalidInput,
    MessageDeleted,
    MessageNotFound,
    NotAMember,
    NotAuthor,
    RoomExists,
    RoomFull,
    RoomNotFound,
    TooLarge,
)
from domain.events import (
    Envelope,
    Event,
    MessageCreated,
    MessageUpdated,
    ReadMarked,
    RoomCreated,
    RoomKind,
    UserJoined,
    UserLeft,
)
from domain.events import MessageDeleted as MessageDeletedEvent
from domain.ids import DM_PREFIX, dm_room_id, reader_of
from domain.rules import check_attachments, check_id, check_name, check_text


class RoomState(msgspec.Struct, frozen=True):
    """What the rules need to know about a room; small enough to keep as the stream's head."""

    room_id: str
    kind: RoomKind
    name: str
    # Only the members this decision concerns (the actor, an invitee): a load names the users it
    # asks about and gets those who are members. The stored head holds none, so it stays the same
    # size whatever the room's size.
    members: frozenset[str]
    version: int
    messages: int = 0
    last_message_seq: int = 0
    member_count: int = 0


class MessageState(msgspec.Struct, frozen=True):
    seq: int
    n: int
    author: str
    has_attachments: bool = False
    deleted: bool = False


class ReaderState(msgspec.Struct, frozen=True):
    """A reader's marker in one room."""

    user_id: str
    room_id: str
    version: int = 0
    seq: int = 0


# --- evolve ------------------------------------------------------------------------------------


def evolve_room(state: RoomState | None, envelope: Envelope) -> RoomState:
    event, version = envelope.data, envelope.version
    if isinstance(event, RoomCreated):
        members = frozenset(event.members)
        return RoomState(
            event.room_id, event.kind, event.name, members, version, member_count=len(members)
        )
    if state is None:
        raise ValueError(f"{envelope.type} at {envelope.stream}/{version} before room.created")
    if isinstance(event, MessageCreated):
        return msgspec.structs.replace(
            state, version=version, messages=event.n, last_message_seq=version
        )
    if isinstance(event, UserJoined):
        return msgspec.structs.replace(
            state,
            version=version,
            members=state.members | {event.user_id},
            member_count=state.member_count + 1,
        )
    if isinstance(event, UserLeft):
        return msgspec.structs.replace(
            state,
            version=version,
            members=state.members - {event.user_id},
            member_count=state.member_count - 1,
        )
    return msgspec.structs.replace(state, version=version)


def evolve_message(state: MessageState | None, envelope: Envelope) -> MessageState | None:
    """Fold the events that concern one message: its creation, then any deletion."""
    event = envelope.data
    if isinstance(event, MessageCreated):
        return MessageState(
            envelope.version, event.n, envelope.actor, has_attachments=bool(event.attachments)
        )
    if isinstance(event, MessageDeletedEvent) and state is not None and event.seq == state.seq:
        return msgspec.structs.replace(state, deleted=True)
    return state


def evolve_reader(state: ReaderState | None, envelope: Envelope) -> ReaderState:
    user_id, room_id = reader_of(envelope.stream)
    event = envelope.data
    seq = event.seq if isinstance(event, ReadMarked) else state.seq if state else 0
    return ReaderState(user_id, room_id, envelope.version, seq)


# --- decide ------------------------------------------------------------------------------------


def _membership(room: RoomState | None, room_id: str, actor: str) -> RoomState:
    """The room, if it exists and the actor belongs to it."""
    if room is None:
        raise RoomNotFound.to(room_id)
    if actor not in room.members:
        raise NotAMember.to(room_id)
    return room


def _group(room: RoomState, what: str) -> None:
    if room.kind == "dm":
        raise DirectMessageRule(f"a direct message has exactly its two members: {what}")


def _target(target: MessageState | None, seq: int, actor: str) -> MessageState:
    if target is None or target.seq != seq:
        raise MessageNotFound(f"there is no message {seq} in this room")
    if target.author != actor:
        raise NotAuthor("only its author can change a message")
    return target


def decide_create(
    command: CreateRoom, actor: str, room: RoomState | None, _: MessageState | None
) -> tuple[Event, ...]:
    check_id(command.room_id, "a room id")
    if command.room_id.startswith(DM_PREFIX):
        raise InvalidInput(f"room ids starting with {DM_PREFIX!r} are kept for direct messages")
    name = check_name(command.name)
    members = tuple(dict.fromkeys((actor, *(check_id(m, "a user id") for m in command.members))))
    if len(members) > limits.MAX_INITIAL_MEMBERS:
        raise TooLarge(f"a new room has at most {limits.MAX_INITIAL_MEMBERS} members")
    if room is not None:
        raise RoomExists(f"room {command.room_id} already exists")
    return (RoomCreated(command.room_id, "group", name, members),)


def decide_open_dm(
    command: OpenDm, actor: str, room: RoomState | None, _: MessageState | None
) -> tuple[Event, ...]:
    check_id(command.peer, "a user id")
    if command.peer == actor:
        raise DirectMessageRule("a direct message needs two different people")
    if room is not None:
        return ()
    pair = tuple(sorted((actor, command.peer)))
    return (RoomCreated(dm_room_id(actor, command.peer), "dm", "", pair),)


def decide_invite(
    command: Invite, actor: str, room: RoomState | None, _: MessageState | None
) -> tuple[Event, ...]:
    check_id(command.user_id, "a user id")
    state = _membership(room, command.room_id, actor)
    _group(state, "it takes no invites")
    if command.user_id in state.members:
        raise AlreadyMember(f"{command.user_id} is already a member")
    if state.member_count >= limits.MAX_ROOM_MEMBERS:
        raise RoomFull(f"a room has at most {limits.MAX_ROOM_MEMBERS} members")
    return (UserJoined(command.user_id, actor, joined_n=state.messages),)


def decide_leave(
    command: Leave, actor: str, room: RoomState | None, _: MessageState | None
) -> tuple[Event, ...]:
    state = _membership(room, command.room_id, actor)
    _group(state, "it cannot be left")
    return (UserLeft(actor),)


def decide_send(
    command: Send, actor: str, room: RoomState | None, _: MessageState | None
) -> tuple[Event, ...]:
    state = _membership(room, command.room_id, actor)
    check_text(command.text, has_attachments=bool(command.attachments))
    check_attachments(command.room_id, command.attachments)
    n = state.messages + 1
    return (MessageCreated(command.text, n, command.client_id, command.attachments),)


def decide_edit(
    command: Edit, actor: str, room: RoomState | None, target: MessageState | None
) -> tuple[Event, ...]:
    state = _membership(room, command.room_id, actor)
    message = _target(target, command.seq, actor)
    if message.deleted:
        raise MessageDeleted("a deleted message cannot be edited")
    check_text(command.text, has_attachments=message.has_attachments)
    latest = message.seq == state.last_message_seq
    return (MessageUpdated(command.seq, command.text, latest),)


def decide_delete(
    command: Delete, actor: str, room: RoomState | None, target: MessageState | None
) -> tuple[Event, ...]:
    state = _membership(room, command.room_id, actor)
    message = _target(target, command.seq, actor)
    if message.deleted:
        return ()
    return (MessageDeletedEvent(command.seq, message.seq == state.last_message_seq),)


def decide_read(
    command: MarkRead,
    actor: str,
    room: RoomState | None,
    latest_seen: MessageState | None,
    reader: ReaderState | None,
) -> tuple[Event, ...]:
    """Move the actor's read marker forward to `seq` (clamped to the room's head).

    `latest_seen` is the newest message at or before `seq`: its ordinal counts the messages read.
    """
    state = _membership(room, command.room_id, actor)
    seq = min(max(command.seq, 0), state.version)
    if seq >= state.last_message_seq:
        n = state.messages
    else:
        n = latest_seen.n if latest_seen is not None and latest_seen.seq <= seq else 0
    current = reader.seq if reader is not None else 0
    if seq <= current:
        return ()
    return (ReadMarked(command.room_id, seq, n),)


RoomDecision = Callable[[Any, str, RoomState | None, MessageState | None], tuple[Event, ...]]

DECISIONS: dict[type[RoomCommand], RoomDecision] = {
    CreateRoom: decide_create,
    OpenDm: decide_open_dm,
    Invite: decide_invite,
    Leave: decide_leave,
    Send: decide_send,
    Edit: decide_edit,
    Delete: decide_delete,
}


def decide(
    command: RoomCommand, actor: str, room: RoomState | None, target: MessageState | None = None
) -> tuple[Event, ...]:
    """Apply the rules of `command` to the room's current state."""
    check_id(actor, "a user id")
    return DECISIONS[type(command)](command, actor, room, target)


def room_of(command: RoomCommand, actor: str) -> str:
    """The room a command addresses (a DM's is derived from the pair)."""
    if isinstance(command, OpenDm):
        return dm_room_id(actor, command.peer)
    return command.room_id


def concerned_members(command: RoomCommand | MarkRead, actor: str) -> tuple[str, ...]:
    """Whose membership of the room a decision needs to know."""
    if isinstance(command, Invite):
        return tuple(dict.fromkeys((actor, command.user_id)))
    if isinstance(command, CreateRoom | OpenDm):
        return ()
    return (actor,)


def target_seq(command: RoomCommand | MarkRead) -> int | None:
    """The message a command needs the state of, if any."""
    if isinstance(command, Edit | Delete | MarkRead):
        return command.seq
    return None

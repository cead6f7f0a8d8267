"""Read models, as pure functions from one event to the view writes it causes.

The views live in one table of rows keyed `(pk, sk)`:

| row      | pk              | sk                 | written by                                   |
|----------|-----------------|--------------------|----------------------------------------------|
| room     | `room#<id>`     | `meta`             | every room event (last seq, last message)    |
| member   | `members#<id>`  | `member#<user>`    | room.created, user.joined, user.left         |
| message  | `room#<id>`     | `msg#<seq:012>`    | message.created / updated / deleted          |
| inbox    | `inbox#<user>`  | `room#<id>`        | membership and own messages (room stream),   |
|          |                 |                    | read marker (the reader's stream)            |

Each write names the attribute that holds the source version it reflects (`src` for the room
stream, `rsrc` for the reader's stream) and is applied only if the row is older: a duplicate or a
re-delivered event is a no-op, and the two streams that touch an inbox row never overwrite each
other's fields, so the result does not depend on the order in which the streams arrive.

A message costs three writes (its row, the room row, its author's inbox row) whatever the room's
size; unread counts are computed when read, from the room's message count and the reader's marker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from domain.events import (
    Envelope,
    Event,
    MessageCreated,
    MessageDeleted,
    MessageUpdated,
    ReadMarked,
    RoomCreated,
    UserJoined,
    UserLeft,
)
from domain.ids import ROOM_PREFIX, reader_of, room_of_stream
from domain.limits import PREVIEW_CHARS

Key = tuple[str, str]
Row = dict[str, Any]

MEMBERS_PREFIX = "members#"
INBOX_PREFIX = "inbox#"
ROOM_GUARD = "src"
READ_GUARD = "rsrc"
META = "meta"


class Write(msgspec.Struct, frozen=True, gc=False):
    """Merge `fields` into the row at `key` (creating it) if the row's `guard` attribute is older
    than `version`. `fields` already carries `guard: version`, and is a new dict every time
    `project` is called (`Views.fold` keeps it as the row it creates)."""

    key: Key
    guard: str
    version: int
    fields: Row


def room_key(room_id: str) -> Key:
    return (ROOM_PREFIX + room_id, META)


def member_key(room_id: str, user_id: str) -> Key:
    # A partition of their own: listing a room's members (every broadcast does) never reads
    # through its history.
    return (MEMBERS_PREFIX + room_id, "member#" + user_id)


def message_sk(seq: int) -> str:
    return "msg#%012d" % seq  # noqa: UP031 - the fastest formatting, on the replay hot path


def message_key(room_id: str, seq: int) -> Key:
    return (ROOM_PREFIX + room_id, message_sk(seq))


def inbox_key(user_id: str, room_id: str) -> Key:
    return (INBOX_PREFIX + user_id, ROOM_PREFIX + room_id)


def preview(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def message_preview(event: MessageCreated) -> str:
    """What the inbox shows of a new message: its text's start, or the names of its files. Live
    events carry it too (`domain.public.detail`), so a preview never changes on reload."""
    if event.text or not event.attachments:
        return preview(event.text)
    return preview(", ".join(attachment.name for attachment in event.attachments))


def _joined(
    room_id: str, user_id: str, version: int, *, kind: str, peer: str, joined_n: int
) -> tuple[Write, Write]:
    member = {"room_id": room_id, "user_id": user_id, "active": True, "joined_seq": version}
    inbox = {
        "user_id": user_id,
        "room_id": room_id,
        "kind": kind,
        "peer": peer,
        "member": True,
        "joined_seq": version,
        "joined_n": joined_n,
    }
    member[ROOM_GUARD] = inbox[ROOM_GUARD] = version
    return (
        Write(member_key(room_id, user_id), ROOM_GUARD, version, member),
        Write(inbox_key(user_id, room_id), ROOM_GUARD, version, inbox),
    )


def _room_touched(pk: str, version: int) -> Write:
    return Write((pk, META), ROOM_GUARD, version, {"last_seq": version, ROOM_GUARD: version})


def _room_created(env: Envelope, event: RoomCreated) -> tuple[Write, ...]:
    room_id, version = event.room_id, env.version
    room = {
        "room_id": room_id,
        "kind": event.kind,
        "name": event.name,
        "created_by": env.actor,
        "created_at": env.at,
        "last_seq": version,
        "last_activity": env.at,
        "message_count": 0,
        ROOM_GUARD: version,
    }
    writes = [Write(room_key(room_id), ROOM_GUARD, version, room)]
    for user_id in event.members:
        peer = next((m for m in event.members if m != user_id), "") if event.kind == "dm" else ""
        writes.extend(_joined(room_id, user_id, version, kind=event.kind, peer=peer, joined_n=0))
    return tuple(writes)


def _user_joined(env: Envelope, event: UserJoined) -> tuple[Write, ...]:
    # The room of a join is always a group: DMs take no invites.
    member, inbox = _joined(
        room_of_stream(env.stream),
        event.user_id,
        env.version,
        kind="group",
        peer="",
        joined_n=event.joined_n,
    )
    return (member, inbox, _room_touched(env.stream, env.version))


def _user_left(env: Envelope, event: UserLeft) -> tuple[Write, ...]:
    room_id, version = room_of_stream(env.stream), env.version
    return (
        Write(
            member_key(room_id, event.user_id),
            ROOM_GUARD,
            version,
            {"active": False, ROOM_GUARD: version},
        ),
        Write(
            inbox_key(event.user_id, room_id),
            ROOM_GUARD,
            version,
            {"member": False, ROOM_GUARD: version},
        ),
        _room_touched(env.stream, version),
    )


def message_row(env: Envelope, event: MessageCreated, room_id: str, author: str) -> Row:
    """The history row of a new message (`room_id` and `author` as the caller holds them)."""
    seq = env.version
    row: Row = {
        "room_id": room_id,
        "seq": seq,
        "n": event.n,
        "author": author,
        "text": event.text,
        "at": env.at,
        "client_id": event.client_id,
        "deleted": False,
        ROOM_GUARD: seq,
    }
    if event.attachments:
        row["attachments"] = list(msgspec.to_builtins(event.attachments))
    return row


def room_after_message(env: Envelope, event: MessageCreated, author: str) -> Row:
    """What a new message changes on its room's row: the last message and the count."""
    seq, text = env.version, event.text
    return {
        "last_seq": seq,
        "message_count": event.n,
        "last_activity": env.at,
        "last_message_seq": seq,
        "last_author": author,
        # The common case inline: replay folds millions of these.
        "last_preview": text if 0 < len(text) <= PREVIEW_CHARS else message_preview(event),
        "last_deleted": False,
        ROOM_GUARD: seq,
    }


def author_after_message(env: Envelope, event: MessageCreated) -> Row:
    """What a new message changes on its author's inbox row: they have seen their own message,
    so it never counts as unread for them."""
    return {"sent_n": event.n, ROOM_GUARD: env.version}


def read_row(env: Envelope, event: ReadMarked, user_id: str, room_id: str) -> Row:
    return {
        "user_id": user_id,
        "room_id": room_id,
        "read_seq": event.seq,
        "read_n": event.n,
        READ_GUARD: env.version,
    }


def _message_created(env: Envelope, event: MessageCreated) -> tuple[Write, ...]:
    pk, seq, author = env.stream, env.version, env.actor
    room_id = room_of_stream(pk)
    return (
        Write((pk, message_sk(seq)), ROOM_GUARD, seq, message_row(env, event, room_id, author)),
        Write((pk, META), ROOM_GUARD, seq, room_after_message(env, event, author)),
        Write(inbox_key(author, room_id), ROOM_GUARD, seq, author_after_message(env, event)),
    )


def _message_updated(env: Envelope, event: MessageUpdated) -> tuple[Write, ...]:
    pk, version = env.stream, env.version
    room = _room_touched(pk, version)
    if event.latest:
        room.fields["last_preview"] = preview(event.text)
    message = {"text": event.text, "edited_at": env.at, ROOM_GUARD: version}
    return (Write((pk, message_sk(event.seq)), ROOM_GUARD, version, message), room)


def _message_deleted(env: Envelope, event: MessageDeleted) -> tuple[Write, ...]:
    pk, version = env.stream, env.version
    room = _room_touched(pk, version)
    if event.latest:
        room.fields.update(last_preview="", last_deleted=True)
    message = {
        "text": "",
        "attachments": [],
        "deleted": True,
        "deleted_at": env.at,
        ROOM_GUARD: version,
    }
    return (Write((pk, message_sk(event.seq)), ROOM_GUARD, version, message), room)


def _read_marked(env: Envelope, event: ReadMarked) -> tuple[Write, ...]:
    user_id = reader_of(env.stream)[0]
    row = read_row(env, event, user_id, event.room_id)
    return (Write(inbox_key(user_id, event.room_id), READ_GUARD, env.version, row),)


_PROJECTORS: dict[type[Event], Callable[[Envelope, Any], tuple[Write, ...]]] = {
    RoomCreated: _room_created,
    UserJoined: _user_joined,
    UserLeft: _user_left,
    MessageCreated: _message_created,
    MessageUpdated: _message_updated,
    MessageDeleted: _message_deleted,
    ReadMarked: _read_marked,
}


def project(env: Envelope) -> tuple[Write, ...]:
    """The view writes one event causes."""
    data = env.data
    return _PROJECTORS[type(data)](env, data)


class Views:
    """The read models in memory: the fold that replay, drift checks and property tests use.

    Rows are kept without their key attributes; `items()` gives them as the table stores them.
    """

    __slots__ = ("_inbox_pks", "_inboxes", "_names", "_room_ids", "_rooms", "_sks", "rows")

    def __init__(self) -> None:
        self.rows: dict[Key, Row] = {}
        # One shared instance of each string that many rows repeat, for `fold`: room stream ->
        # (pk, room id, room row key), room id -> (pk, room id), user stream -> (inbox pk,
        # user id), user ids, and message sort keys by seq (the n-th message of every room).
        self._rooms: dict[str, tuple[str, str, Key]] = {}
        self._room_ids: dict[str, tuple[str, str]] = {}
        self._inboxes: dict[str, tuple[str, str]] = {}
        self._inbox_pks: dict[str, str] = {}  # user id -> inbox pk
        self._names: dict[str, str] = {}
        self._sks: list[str] = []

    def apply(self, write: Write) -> bool:
        """Apply one guarded write; False when the row already reflects that version."""
        row = self.rows.get(write.key)
        if row is None:
            self.rows[write.key] = dict(write.fields)
            return True
        if row.get(write.guard, 0) >= write.version:
            return False
        row.update(write.fields)
        return True

    def fold(self, envelopes: Iterable[Envelope]) -> Views:
        """Apply the writes of every event in order: the rows `apply` of each `project` gives.

        This is the replay loop. The rows come from the same builders `project` uses; what
        differs is only how they are applied, to spare the hot path its temporary objects:
        - message.created and read.marked (most of a log) are merged into the rows directly,
          with no `Write` or key built for them;
        - a new row adopts its freshly built field dict, where `apply` must copy (its caller
          may keep the write);
        - rows share one instance of each string many rows repeat (ids, keys) instead of the
          copy each decoded event carries: a third less memory retained per message row.
        """
        rows = self.rows
        adopt = rows.setdefault
        rooms, room_ids, inboxes, names = self._rooms, self._room_ids, self._inboxes, self._names
        inbox_pks = self._inbox_pks

        def merge(key: Key, guard: str, version: int, fields: Row) -> None:
            current = adopt(key, fields)
            if current is not fields and current.get(guard, 0) < version:
                current.update(fields)

        for env in envelopes:
            data = env.data
            if type(data) is MessageCreated:
                seq = env.version
                room = rooms.get(env.stream) or self._room_names(env.stream)
                author = names.get(env.actor) or names.setdefault(env.actor, env.actor)
                row = message_row(env, data, room[1], author)
                merge((room[0], self._sk(seq)), ROOM_GUARD, seq, row)
                merge(room[2], ROOM_GUARD, seq, room_after_message(env, data, author))
                inbox_pk = inbox_pks.get(author) or inbox_pks.setdefault(
                    author, INBOX_PREFIX + author
                )
                merge((inbox_pk, room[0]), ROOM_GUARD, seq, author_after_message(env, data))
            elif type(data) is ReadMarked:
                inbox = inboxes.get(env.stream) or self._inbox_names(env.stream)
                room_names = room_ids.get(data.room_id) or self._room_id_names(data.room_id)
                row = read_row(env, data, inbox[1], room_names[1])
                merge((inbox[0], room_names[0]), READ_GUARD, env.version, row)
            else:
                for write in _PROJECTORS[type(data)](env, data):
                    key = write.key
                    if key[1] == META:  # share the key the message path looks room rows up by
                        key = (rooms.get(key[0]) or self._room_names(key[0]))[2]
                    merge(key, write.guard, write.version, write.fields)
        return self

    def _sk(self, seq: int) -> str:
        sks = self._sks
        return sks[seq] if 0 <= seq < len(sks) else self._message_sk(seq)

    def _message_sk(self, seq: int) -> str:
        sks = self._sks
        if 0 <= seq < len(sks) + _SK_SPAN:
            sks.extend(map(message_sk, range(len(sks), seq + 1)))
            return sks[seq]
        return message_sk(seq)  # far past the seqs seen so far: not worth a table

    def _room_names(self, stream: str) -> tuple[str, str, Key]:
        names = self._rooms[stream] = (stream, room_of_stream(stream), (stream, META))
        return names

    def _room_id_names(self, room_id: str) -> tuple[str, str]:
        names = self._room_ids[room_id] = (ROOM_PREFIX + room_id, room_id)
        return names

    def _inbox_names(self, stream: str) -> tuple[str, str]:
        user_id = reader_of(stream)[0]
        user_id = self._names.setdefault(user_id, user_id)
        names = self._inboxes[stream] = (INBOX_PREFIX + user_id, user_id)
        return names

    def items(self) -> Iterator[Row]:
        """Every row with its `pk` and `sk`, as the views table holds it."""
        for (pk, sk), row in self.rows.items():
            yield {"pk": pk, "sk": sk, **row}


# How far past the longest room seen so far `Views.fold` extends its table of message sort keys.
_SK_SPAN = 4096


def unread(room: Row, inbox: Row) -> int:
    """Messages after the reader's marker: never history from before they joined, nor their own."""
    seen = max(int(inbox.get(field, 0)) for field in ("read_n", "joined_n", "sent_n"))
    return max(int(room.get("message_count", 0)) - seen, 0)


def inbox_entries(memberships: list[Row], rooms: dict[Key, Row]) -> list[Row]:
    """Join a user's inbox rows with their rooms' rows: most recently active first."""
    entries = []
    for inbox in memberships:
        room = rooms.get(room_key(inbox["room_id"]))
        if room is None:
            continue
        entries.append(
            {
                "room_id": inbox["room_id"],
                "kind": room.get("kind", inbox.get("kind", "group")),
                "name": room.get("name", ""),
                "peer": inbox.get("peer", ""),
                "last_seq": room.get("last_seq", 0),
                "last_activity": room.get("last_activity", ""),
                "last_message": {
                    "seq": room.get("last_message_seq", 0),
                    "author": room.get("last_author", ""),
                    "preview": room.get("last_preview", ""),
                    "deleted": room.get("last_deleted", False),
                }
                if room.get("last_message_seq")
                else None,
                "read_seq": max(inbox.get("read_seq", 0), inbox.get("joined_seq", 0)),
                "unread": unread(room, inbox),
            }
        )
    entries.sort(key=lambda entry: (entry["last_activity"], entry["room_id"]), reverse=True)
    return entries

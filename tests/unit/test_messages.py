"""Messages: who may post, edit and delete, the limits of a message, and idempotent sends."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import msgspec
import pytest

from application.memory import InMemoryEventStore
from application.ports import Append, Loaded, LoadRequest, VersionConflict
from application.service import Busy, ChatService, IdempotencyKeyReused
from domain import limits
from domain.commands import Edit, Send
from domain.errors import (
    InvalidInput,
    MessageDeleted,
    MessageNotFound,
    NotAMember,
    NotAuthor,
    TooLarge,
)
from domain.events import Attachment, Envelope, MessageCreated, MessageUpdated
from domain.events import MessageDeleted as MessageDeletedEvent
from domain.limits import PREVIEW_CHARS
from domain.rooms import MessageState, RoomState, decide
from tests.unit.support import attachment, make_service, memory, message_row, room_row, views_of

# --- posting -----------------------------------------------------------------------------------


def test_a_member_posts_a_message_at_the_next_seq(chat: ChatService, room: str) -> None:
    outcome = chat.send("bob", room, "hello")

    assert outcome.seq == 2
    assert outcome.message is not None
    assert outcome.message.data == MessageCreated("hello", n=1)
    row = message_row(views_of(chat), room, 2)
    assert (row["seq"], row["n"], row["author"], row["text"]) == (2, 1, "bob", "hello")


def test_messages_are_numbered_among_messages_only(chat: ChatService, room: str) -> None:
    chat.send("alice", room, "one")
    chat.invite("alice", room, "dave")
    third = chat.send("dave", room, "two")

    assert third.seq == 4
    assert third.message is not None
    assert isinstance(third.message.data, MessageCreated)
    assert third.message.data.n == 2


def test_only_members_post(chat: ChatService, room: str) -> None:
    with pytest.raises(NotAMember):
        chat.send("mallory", room, "spam")
    assert len(memory(chat).appended) == 1


def test_a_message_has_at_most_max_text_chars(chat: ChatService, room: str) -> None:
    chat.send("alice", room, "x" * limits.MAX_TEXT_CHARS)

    with pytest.raises(TooLarge) as refused:
        chat.send("alice", room, "x" * (limits.MAX_TEXT_CHARS + 1))
    assert refused.value.code == "too_large"
    assert len(memory(chat).appended) == 2


@pytest.mark.parametrize("text", ["", " ", "\n\t "])
def test_a_message_without_attachments_needs_text(chat: ChatService, room: str, text: str) -> None:
    with pytest.raises(InvalidInput):
        chat.send("alice", room, text)


def test_a_message_may_be_only_an_attachment(chat: ChatService, room: str) -> None:
    photo = attachment(room)
    outcome = chat.send("alice", room, "", attachments=(photo,))

    row = message_row(views_of(chat), room, outcome.seq)
    assert list(row["attachments"]) == [
        {"key": photo.key, "name": "photo.png", "content_type": "image/png", "size": 1024}
    ]


def test_a_message_carries_at_most_max_attachments(chat: ChatService, room: str) -> None:
    files = tuple(attachment(room, f"f{i}.png") for i in range(limits.MAX_ATTACHMENTS + 1))
    chat.send("alice", room, "many", attachments=files[:-1])

    with pytest.raises(TooLarge):
        chat.send("alice", room, "too many", attachments=files)


@pytest.mark.parametrize(
    "key",
    [
        "rooms/other/photo.png",
        "rooms/r10/photo.png",
        "rooms/r1",
        "uploads/r1/photo.png",
        "rooms/r1/../other/photo.png",
        "/rooms/r1/photo.png",
    ],
)
def test_attachments_must_live_under_the_rooms_prefix(key: str) -> None:
    room = RoomState("r1", "group", "general", frozenset({"alice"}), version=1)
    stray = Attachment(key, "photo.png", "image/png", 10)

    with pytest.raises(InvalidInput):
        decide(Send("r1", "look", attachments=(stray,)), "alice", room)
    assert decide(Send("r1", "look", attachments=(attachment("r1"),)), "alice", room)


@pytest.mark.parametrize(
    "content_type", ["text/html", "image/svg+xml", "application/xhtml+xml", "x/y"]
)
def test_an_attachment_may_claim_only_a_type_an_upload_may_have(
    chat: ChatService, room: str, content_type: str
) -> None:
    page = Attachment(f"rooms/{room}/f1", "cat.png", content_type, 10)

    with pytest.raises(InvalidInput, match="cannot be shared"):
        chat.send("alice", room, "look", attachments=(page,))


def test_an_attachment_cannot_have_a_negative_size(chat: ChatService, room: str) -> None:
    with pytest.raises(InvalidInput):
        chat.send("alice", room, "x", attachments=(attachment(room, size=-1),))


# --- editing and deleting ----------------------------------------------------------------------


def test_the_author_edits_a_message(chat: ChatService, room: str) -> None:
    seq = chat.send("bob", room, "helo").seq

    outcome = chat.edit("bob", room, seq, "hello")

    assert outcome.seq == seq + 1
    assert [e.data for e in outcome.events] == [MessageUpdated(seq, "hello", latest=True)]
    row = message_row(views_of(chat), room, seq)
    assert (row["text"], row["edited_at"]) == ("hello", outcome.events[0].at)


def test_only_the_author_can_edit_a_message(chat: ChatService, room: str) -> None:
    seq = chat.send("bob", room, "mine").seq

    with pytest.raises(NotAuthor) as refused:
        chat.edit("alice", room, seq, "yours now")
    assert refused.value.code == "not_author"
    assert message_row(views_of(chat), room, seq)["text"] == "mine"


def test_only_the_author_can_delete_a_message(chat: ChatService, room: str) -> None:
    seq = chat.send("bob", room, "mine").seq

    with pytest.raises(NotAuthor):
        chat.delete("alice", room, seq)
    assert message_row(views_of(chat), room, seq)["deleted"] is False


def test_an_edit_obeys_the_text_limits(chat: ChatService, room: str) -> None:
    seq = chat.send("bob", room, "short").seq

    with pytest.raises(TooLarge):
        chat.edit("bob", room, seq, "x" * (limits.MAX_TEXT_CHARS + 1))
    with pytest.raises(InvalidInput):
        chat.edit("bob", room, seq, "  ")


def test_a_message_with_attachments_can_be_edited_down_to_no_text(
    chat: ChatService, room: str
) -> None:
    seq = chat.send("bob", room, "caption", attachments=(attachment(room),)).seq

    chat.edit("bob", room, seq, "")

    assert message_row(views_of(chat), room, seq)["text"] == ""


def test_a_deleted_message_cannot_be_edited(chat: ChatService, room: str) -> None:
    seq = chat.send("bob", room, "oops").seq
    chat.delete("bob", room, seq)

    with pytest.raises(MessageDeleted) as refused:
        chat.edit("bob", room, seq, "undo")
    assert refused.value.code == "message_deleted"


def test_deleting_twice_is_a_no_op(chat: ChatService, room: str) -> None:
    seq = chat.send("bob", room, "oops").seq
    first = chat.delete("bob", room, seq)
    written = list(memory(chat).appended)

    again = chat.delete("bob", room, seq)

    assert [e.data for e in first.events] == [MessageDeletedEvent(seq, latest=True)]
    assert again.events == ()
    assert again.seq == first.seq
    assert memory(chat).appended == written


def test_a_deleted_message_keeps_its_seq_but_loses_text_and_attachments(
    chat: ChatService, room: str
) -> None:
    seq = chat.send("bob", room, "secret", attachments=(attachment(room),)).seq
    chat.send("bob", room, "after")

    chat.delete("bob", room, seq)

    row = message_row(views_of(chat), room, seq)
    assert row["seq"] == seq
    assert row["deleted"] is True
    assert row["text"] == ""
    assert row["attachments"] == []
    assert row["deleted_at"]


@pytest.mark.parametrize("seq", [0, -1, 1, 99])
def test_only_an_existing_message_can_be_edited_or_deleted(
    chat: ChatService, room: str, seq: int
) -> None:
    chat.send("alice", room, "the only message")  # seq 2; seq 1 is the room's creation

    with pytest.raises(MessageNotFound):
        chat.edit("alice", room, seq, "changed")
    with pytest.raises(MessageNotFound):
        chat.delete("alice", room, seq)


def test_a_message_addressed_past_the_head_is_not_the_latest_one(
    chat: ChatService, room: str
) -> None:
    chat.send("alice", room, "one")
    chat.send("alice", room, "two")

    with pytest.raises(MessageNotFound):
        chat.edit("alice", room, 4, "two, edited")


# --- the room row's preview --------------------------------------------------------------------


def test_the_preview_follows_edits_of_the_latest_message(chat: ChatService, room: str) -> None:
    seq = chat.send("bob", room, "helo").seq
    chat.invite("alice", room, "dave")  # a later event that is not a message

    chat.edit("bob", room, seq, "hello")

    meta = room_row(views_of(chat), room)
    assert (meta["last_message_seq"], meta["last_preview"], meta["last_author"]) == (
        seq,
        "hello",
        "bob",
    )


def test_the_preview_ignores_edits_and_deletes_of_older_messages(
    chat: ChatService, room: str
) -> None:
    older = chat.send("bob", room, "older").seq
    latest = chat.send("carol", room, "latest").seq

    chat.edit("bob", room, older, "older, edited")
    chat.delete("bob", room, older)

    meta = room_row(views_of(chat), room)
    assert meta["last_message_seq"] == latest
    assert meta["last_preview"] == "latest"
    assert meta["last_deleted"] is False


def test_deleting_the_latest_message_blanks_the_preview(chat: ChatService, room: str) -> None:
    chat.send("bob", room, "older")
    latest = chat.send("carol", room, "regret").seq

    chat.delete("carol", room, latest)

    meta = room_row(views_of(chat), room)
    assert (meta["last_message_seq"], meta["last_preview"], meta["last_deleted"]) == (
        latest,
        "",
        True,
    )


def test_a_long_message_is_previewed_shortened(chat: ChatService, room: str) -> None:
    text = "y" * (PREVIEW_CHARS + 10)
    seq = chat.send("bob", room, text).seq

    preview = room_row(views_of(chat), room)["last_preview"]
    assert len(preview) == PREVIEW_CHARS
    assert preview == "y" * (PREVIEW_CHARS - 1) + "…"
    assert message_row(views_of(chat), room, seq)["text"] == text

    chat.edit("bob", room, seq, "z" * (PREVIEW_CHARS + 1))
    assert room_row(views_of(chat), room)["last_preview"] == "z" * (PREVIEW_CHARS - 1) + "…"


def test_a_message_of_files_alone_is_previewed_by_their_names(chat: ChatService, room: str) -> None:
    files = (attachment(room, "plan.pdf"), attachment(room, "photo.png"))
    chat.send("bob", room, "", attachments=files)

    assert room_row(views_of(chat), room)["last_preview"] == "plan.pdf, photo.png"


# --- idempotent sends --------------------------------------------------------------------------


def test_a_resent_client_id_returns_the_original_seq_and_writes_nothing(
    chat: ChatService, room: str
) -> None:
    original = chat.send("bob", room, "hello", client_id="m-1")
    chat.send("carol", room, "in between")
    written = list(memory(chat).appended)

    retry = chat.send("bob", room, "hello", client_id="m-1")

    assert retry.duplicate and not original.duplicate
    assert retry.seq == original.seq == 2
    assert retry.events == original.events
    assert memory(chat).appended == written


def test_a_client_id_reused_for_different_content_is_refused(chat: ChatService, room: str) -> None:
    chat.send("bob", room, "hello", client_id="m-1")
    other = chat.create_room("bob", "elsewhere").room_id
    written = len(memory(chat).appended)

    with pytest.raises(IdempotencyKeyReused):
        chat.send("bob", room, "goodbye", client_id="m-1")
    with pytest.raises(IdempotencyKeyReused):
        chat.send("bob", other, "hello", client_id="m-1")
    assert len(memory(chat).appended) == written


def test_the_client_id_is_kept_on_the_message(chat: ChatService, room: str) -> None:
    seq = chat.send("bob", room, "hello", client_id="m-1").seq

    assert message_row(views_of(chat), room, seq)["client_id"] == "m-1"


def test_the_same_client_id_from_another_user_is_another_message(
    chat: ChatService, room: str
) -> None:
    mine = chat.send("bob", room, "hello", client_id="m-1")
    theirs = chat.send("carol", room, "hello", client_id="m-1")

    assert (mine.seq, theirs.seq) == (2, 3)
    assert not theirs.duplicate


def test_sends_without_a_client_id_are_never_deduplicated(chat: ChatService, room: str) -> None:
    assert chat.send("bob", room, "again").seq == 2
    assert chat.send("bob", room, "again").seq == 3


def test_a_client_id_must_be_a_valid_id(chat: ChatService, room: str) -> None:
    with pytest.raises(InvalidInput):
        chat.send("bob", room, "hello", client_id="m#1")


def test_a_refused_send_does_not_use_up_its_client_id(chat: ChatService, room: str) -> None:
    with pytest.raises(InvalidInput):
        chat.send("bob", room, "  ", client_id="m-1")

    assert not chat.send("bob", room, "hello", client_id="m-1").duplicate


def test_an_edit_echoes_its_client_id_but_is_not_recorded(chat: ChatService, room: str) -> None:
    seq = chat.send("bob", room, "helo", client_id="m-1").seq

    edited = chat.execute("bob", Edit(room, seq, "hello", client_id="m-1"))

    assert not edited.duplicate and edited.seq == seq + 1
    assert set(memory(chat).records) == {"bob#m-1"}


def test_a_retry_recorded_before_commands_carried_client_ids_is_still_recognised(
    chat: ChatService,
) -> None:
    created = chat.create_room("alice", "General", ("bob",), client_id="k-1")
    record = memory(chat).records["alice#k-1"]
    # What CreateRoom(room_id, name, members), with no client_id field, encoded to then.
    before: dict[str, object] = {"action": "create_room", "room_id": created.room_id}
    before["name"] = "General"
    before["members"] = ["bob"]
    legacy = hashlib.blake2b(msgspec.json.encode(before), digest_size=16).hexdigest()
    memory(chat).records["alice#k-1"] = msgspec.structs.replace(record, fingerprint=legacy)

    retry = chat.create_room("alice", "General", ("bob",), client_id="k-1")

    assert retry.duplicate and retry.room_id == created.room_id


# --- concurrency -------------------------------------------------------------------------------


class RacingStore:
    """An event store whose first `races` appends lose to another writer.

    Before each losing append, `rival` runs (it may write to the inner store, as a concurrent
    writer would); if it wrote nothing, the append fails with a VersionConflict anyway.
    """

    def __init__(
        self, inner: InMemoryEventStore, races: int = 1, rival: Callable[[], object] | None = None
    ) -> None:
        self.inner = inner
        self.races = races
        self.rival = rival
        self.appends = 0

    def load(self, request: LoadRequest) -> Loaded:
        return self.inner.load(request)

    def append(self, append: Append) -> None:
        self.appends += 1
        if self.races > 0:
            self.races -= 1
            if self.rival is None:
                raise VersionConflict(append.stream)
            self.rival()
        self.inner.append(append)

    def read_stream(self, stream: str, after: int = 0, upto: int | None = None) -> list[Envelope]:
        return self.inner.read_stream(stream, after, upto)

    def scan(self) -> Iterator[Envelope]:
        return self.inner.scan()


def racing(races: int = 1) -> tuple[ChatService, ChatService, RacingStore]:
    """A service over a racing store, and a rival service writing to the same log."""
    inner = InMemoryEventStore()
    rival = make_service(inner)
    store = RacingStore(inner, races)
    return make_service(store), rival, store


def test_a_version_conflict_is_retried_and_the_message_lands_once() -> None:
    chat, rival, store = racing()
    room = rival.create_room("alice", "general", ("bob",)).room_id

    outcome = chat.send("bob", room, "hello")

    assert store.appends == 2
    assert outcome.seq == 2
    assert [e.data for e in store.inner.appended[1:]] == [MessageCreated("hello", n=1)]


def test_a_send_that_lost_the_race_takes_the_next_seq() -> None:
    chat, rival, store = racing()
    room = rival.create_room("alice", "general", ("bob",)).room_id
    store.rival = lambda: rival.send("alice", room, "first")

    outcome = chat.send("bob", room, "second")

    assert outcome.seq == 3
    texts = [(e.version, e.data) for e in store.inner.read_stream("room#" + room)[1:]]
    assert texts == [(2, MessageCreated("first", n=1)), (3, MessageCreated("second", n=2))]


def test_a_retried_command_is_decided_again_on_the_new_state() -> None:
    chat, rival, store = racing()
    room = rival.create_room("alice", "general", ("bob",)).room_id
    store.rival = lambda: rival.leave("bob", room)  # bob left from another device

    with pytest.raises(NotAMember):
        chat.send("bob", room, "hello")
    assert [e.type for e in store.inner.appended] == ["room.created", "user.left"]


def test_a_concurrent_retry_of_the_same_send_returns_the_first_result() -> None:
    chat, rival, store = racing()
    room = rival.create_room("alice", "general", ("bob",)).room_id
    won: list[int] = []
    store.rival = lambda: won.append(rival.send("bob", room, "hello", client_id="m-1").seq)

    outcome = chat.send("bob", room, "hello", client_id="m-1")

    assert outcome.duplicate
    assert outcome.seq == won[0] == 2
    assert [e.type for e in store.inner.appended] == ["room.created", "message.created"]


def test_a_room_that_keeps_changing_gives_up_with_busy() -> None:
    chat, rival, store = racing(races=1_000)
    chat.max_attempts = 5
    room = rival.create_room("alice", "general", ("bob",)).room_id

    with pytest.raises(Busy) as refused:
        chat.send("bob", room, "hello")
    assert refused.value.code == "busy"
    assert store.appends == 5
    assert len(store.inner.appended) == 1


def test_the_latest_flag_of_an_edit_is_decided_on_the_room_state() -> None:
    room = RoomState(
        "r1", "group", "general", frozenset({"bob"}), version=5, messages=2, last_message_seq=4
    )
    older = MessageState(seq=3, n=1, author="bob")
    latest = MessageState(seq=4, n=2, author="bob")

    assert decide(Edit("r1", 3, "x"), "bob", room, older) == (MessageUpdated(3, "x", False),)
    assert decide(Edit("r1", 4, "x"), "bob", room, latest) == (MessageUpdated(4, "x", True),)


def test_an_attachment_larger_than_an_upload_may_be_is_refused(
    chat: ChatService, room: str
) -> None:
    with pytest.raises(TooLarge):
        chat.send("alice", room, "x", attachments=(attachment(room, size=10**40),))


@pytest.mark.parametrize(
    "field", [{"name": "x" * 500_000}, {"name": " "}, {"content_type": "nonsense"}]
)
def test_an_attachment_with_an_unusable_name_or_type_is_refused(
    chat: ChatService, room: str, field: dict[str, str]
) -> None:
    bad = msgspec.structs.replace(attachment(room), **field)

    with pytest.raises(InvalidInput):
        chat.send("alice", room, "x", attachments=(bad,))


def test_text_that_is_not_valid_unicode_is_refused(chat: ChatService, room: str) -> None:
    with pytest.raises(InvalidInput):
        chat.send("alice", room, "half a pair \ud83d")


def test_a_seq_beyond_exact_numbers_is_refused_before_any_lookup(
    chat: ChatService, room: str
) -> None:
    with pytest.raises(InvalidInput):
        chat.edit("alice", room, 10**40, "changed")


def test_a_room_id_that_could_never_exist_is_refused_before_any_lookup(chat: ChatService) -> None:
    with pytest.raises(InvalidInput):
        chat.send("alice", "x" * 3000, "hello")

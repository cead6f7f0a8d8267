"""Events as stored data: msgspec round trips, schema upcasting, and what cannot be read."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from domain.events import (
    EVENT_TYPES,
    UPCASTERS,
    Attachment,
    Envelope,
    Event,
    MessageCreated,
    MessageDeleted,
    MessageUpdated,
    ReadMarked,
    RoomCreated,
    UnknownEvent,
    Upcasters,
    UserJoined,
    UserLeft,
    decode_envelope,
    decode_payload,
    encode,
    event_type,
)
from domain.public import detail

SAMPLES: list[Event] = [
    RoomCreated("r1", "group", "general", ("alice", "bob")),
    RoomCreated("dm-1", "dm", "", ("alice", "bob")),
    UserJoined("carol", "alice", joined_n=7),
    UserLeft("carol"),
    MessageCreated("hello", 1),
    MessageCreated(
        "with a file",
        2,
        client_id="m-1",
        attachments=(Attachment("rooms/r1/a.png", "a.png", "image/png", 10),),
    ),
    MessageUpdated(2, "edited", latest=True),
    MessageDeleted(2),
    ReadMarked("r1", 4, 2),
]


def envelope(event: Event, version: int = 1, stream: str = "room#r1") -> Envelope:
    return Envelope(
        stream,
        version,
        event_type(event),
        type(event).V,
        "2026-01-01T00:00:00.000Z",
        "alice",
        "ev-1",
        "cmd-1",
        event,
    )


def old_message(document: dict[str, Any], version: int) -> bytes:
    """A stored `message.created` envelope as an older version of the code exported it."""
    return msgspec.json.encode(
        {
            "stream": "room#r1",
            "version": 2,
            "type": "message.created",
            "v": version,
            "at": "2025-01-01T00:00:00.000Z",
            "actor": "alice",
            "event_id": "ev-1",
            "command_id": "cmd-1",
            "data": document,
        }
    )


@pytest.mark.parametrize("event", SAMPLES, ids=event_type)
def test_every_event_round_trips_through_its_stored_form(event: Event) -> None:
    assert decode_payload(event_type(event), type(event).V, encode(event)) == event


@pytest.mark.parametrize("event", SAMPLES, ids=event_type)
def test_every_envelope_round_trips_through_its_exported_form(event: Event) -> None:
    stored = envelope(event)

    assert decode_envelope(encode(stored)) == stored


def test_every_event_type_is_registered_under_its_tag() -> None:
    assert set(EVENT_TYPES) == {event_type(event) for event in SAMPLES}
    for name, cls in EVENT_TYPES.items():
        assert cls.__struct_config__.tag == name


def test_defaults_are_left_out_of_the_stored_form() -> None:
    stored = msgspec.json.decode(encode(MessageCreated("hi", 1)))

    assert stored == {"type": "message.created", "text": "hi", "n": 1}


def test_a_document_written_before_a_field_existed_reads_with_its_default() -> None:
    joined = decode_payload(
        "user.joined", 1, b'{"type":"user.joined","user_id":"c","invited_by":"a"}'
    )

    assert joined == UserJoined("c", "a", joined_n=0)


# --- upcasting ---------------------------------------------------------------------------------


def test_an_older_schema_is_lifted_by_its_registered_upcaster() -> None:
    upcasters = Upcasters()

    @upcasters.register("message.created", 0)
    def body_became_text(document: dict[str, Any]) -> dict[str, Any]:
        document = dict(document)
        document["text"] = document.pop("body")
        return document

    event = decode_payload("message.created", 0, b'{"body":"hi","n":3}', upcasters)

    assert event == MessageCreated("hi", 3)


def test_the_shared_registry_is_not_touched_by_a_local_one() -> None:
    Upcasters().register("message.created", 0)(lambda document: document)

    with pytest.raises(UnknownEvent, match="no upcaster"):
        decode_payload("message.created", 0, b'{"text":"hi","n":3}', UPCASTERS)


def test_upcasters_run_in_order_one_version_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MessageCreated, "V", 3)
    upcasters = Upcasters()
    steps: list[int] = []

    @upcasters.register("message.created", 1)
    def v1_to_v2(document: dict[str, Any]) -> dict[str, Any]:
        steps.append(1)
        return {**document, "text": document["text"] + " (v2)"}

    @upcasters.register("message.created", 2)
    def v2_to_v3(document: dict[str, Any]) -> dict[str, Any]:
        steps.append(2)
        return {**document, "text": document["text"] + " (v3)"}

    from_v1 = decode_payload("message.created", 1, b'{"text":"hi","n":1}', upcasters)
    from_v2 = decode_payload("message.created", 2, b'{"text":"hi","n":1}', upcasters)
    current = decode_payload(
        "message.created", 3, b'{"type":"message.created","text":"hi","n":1}', upcasters
    )

    assert from_v1 == MessageCreated("hi (v2) (v3)", 1)
    assert from_v2 == MessageCreated("hi (v3)", 1)
    assert current == MessageCreated("hi", 1)
    assert steps == [1, 2, 2]


def test_a_gap_in_the_upcaster_chain_cannot_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MessageCreated, "V", 3)
    upcasters = Upcasters()
    upcasters.register("message.created", 2)(lambda document: document)

    with pytest.raises(UnknownEvent, match=r"no upcaster for message\.created v1"):
        decode_payload("message.created", 1, b'{"text":"hi","n":1}', upcasters)


def test_an_exported_envelope_of_an_older_schema_is_lifted_to_the_current_one() -> None:
    upcasters = Upcasters()
    upcasters.register("message.created", 0)(
        lambda document: {"text": document["body"], "n": document["n"]}
    )

    lifted = decode_envelope(old_message({"body": "hi", "n": 1}, version=0), upcasters)

    assert lifted.data == MessageCreated("hi", 1)
    assert (lifted.stream, lifted.version, lifted.type) == ("room#r1", 2, "message.created")
    # Once lifted, it is a current event: it says so, and re-exporting it reads back unchanged.
    assert lifted.v == MessageCreated.V
    assert decode_envelope(encode(lifted), upcasters) == lifted


# --- what cannot be read -----------------------------------------------------------------------


def test_an_unknown_event_type_cannot_be_read() -> None:
    with pytest.raises(UnknownEvent, match="unknown event type"):
        decode_payload("message.reacted", 1, b'{"type":"message.reacted"}')


def test_a_schema_version_from_the_future_cannot_be_read() -> None:
    with pytest.raises(UnknownEvent, match="newer than this code"):
        decode_payload("message.created", 2, b'{"type":"message.created","text":"hi","n":1}')


def test_a_document_that_does_not_match_its_schema_cannot_be_read() -> None:
    with pytest.raises(UnknownEvent, match="does not match its schema"):
        decode_payload("message.created", 1, b'{"type":"message.created","text":"hi"}')


def test_an_upcast_document_that_still_does_not_match_cannot_be_read() -> None:
    upcasters = Upcasters()
    upcasters.register("message.created", 0)(lambda document: document)

    with pytest.raises(UnknownEvent, match="does not match its schema"):
        decode_payload("message.created", 0, b'{"body":"hi","n":1}', upcasters)


def test_an_exported_envelope_of_an_unknown_type_cannot_be_read() -> None:
    line = msgspec.json.encode(
        {**msgspec.json.decode(old_message({"text": "hi", "n": 1}, 1)), "type": "message.pinned"}
    )

    with pytest.raises(UnknownEvent):
        decode_envelope(line)


def test_an_exported_envelope_from_the_future_cannot_be_read() -> None:
    line = old_message({"type": "message.created", "text": "hi", "n": 1}, version=2)

    with pytest.raises(UnknownEvent, match="newer than this code"):
        decode_envelope(line)


# --- the public shape --------------------------------------------------------------------------


def test_a_room_event_is_published_by_room_and_seq() -> None:
    body = detail(envelope(MessageCreated("hello", 1, client_id="m-1"), version=5))

    assert body == {
        "type": "message.created",
        "v": 1,
        "room_id": "r1",
        "seq": 5,
        "actor": "alice",
        "at": "2026-01-01T00:00:00.000Z",
        "event_id": "ev-1",
        "data": {"text": "hello", "n": 1, "client_id": "m-1"},
        "preview": "hello",
    }


def test_a_message_event_carries_the_preview_the_inbox_will_show_after_a_reload() -> None:
    long = detail(envelope(MessageCreated("y" * 200, 1), version=2))
    files = detail(envelope(MessageCreated("", 2, attachments=(photo("a.png"), photo("b.png")))))
    edited = detail(envelope(MessageUpdated(1, "z" * 200, latest=True), version=3))

    assert long["preview"] == "y" * 139 + "…"
    assert files["preview"] == "a.png, b.png"
    assert edited["preview"] == "z" * 139 + "…"


def photo(name: str) -> Attachment:
    return Attachment(f"rooms/r1/{name}", name, "image/png", 10)


def test_a_read_marker_is_published_by_its_reader_and_room() -> None:
    body = detail(envelope(ReadMarked("r1", 4, 2), version=9, stream="read#alice#r1"))

    assert (body["room_id"], body["seq"], body["user_id"]) == ("r1", 4, "alice")
    assert body["data"] == {"room_id": "r1", "seq": 4, "n": 2}


def test_an_item_whose_type_disagrees_with_its_payload_is_unreadable() -> None:
    with pytest.raises(UnknownEvent, match=r"holds a message\.created"):
        decode_payload("message.updated", 1, encode(MessageCreated("hi", 1)))


def test_a_payload_that_is_not_json_is_unreadable() -> None:
    with pytest.raises(UnknownEvent):
        decode_payload("message.created", 1, b"{not json")

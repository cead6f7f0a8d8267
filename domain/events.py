"""Chat events: immutable facts, one msgspec tagged union, each type with a schema version.

Schema evolution follows msgspec's rules: a new field gets a default, an existing type never changes
meaning. When a type must change shape, bump its `V`, and register an upcaster that turns the stored
older document into the current one; the log itself is never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal, cast

import msgspec

RoomKind = Literal["group", "dm"]


class _Event(msgspec.Struct, frozen=True, tag_field="type", omit_defaults=True):
    V: ClassVar[int] = 1


class Attachment(msgspec.Struct, frozen=True, omit_defaults=True):
    """A reference to an uploaded file; the bytes live in the files bucket under the room."""

    key: str
    name: str
    content_type: str
    size: int


class RoomCreated(_Event, frozen=True, tag="room.created"):
    room_id: str
    kind: RoomKind
    name: str
    members: tuple[str, ...]


class UserJoined(_Event, frozen=True, tag="user.joined"):
    user_id: str
    invited_by: str
    # How many messages the room had when the user joined: history before it is not unread.
    joined_n: int = 0


class UserLeft(_Event, frozen=True, tag="user.left"):
    user_id: str


class MessageCreated(_Event, frozen=True, tag="message.created"):
    text: str
    # Ordinal of the message in its room (1, 2, 3 ...); unread counts are differences of ordinals.
    n: int
    client_id: str = ""
    attachments: tuple[Attachment, ...] = ()


class MessageUpdated(_Event, frozen=True, tag="message.updated"):
    seq: int
    text: str
    # The target was the room's latest message, so the room's preview changes too.
    latest: bool = False


class MessageDeleted(_Event, frozen=True, tag="message.deleted"):
    seq: int
    latest: bool = False


class ReadMarked(_Event, frozen=True, tag="read.marked"):
    """Lives on the reader's own stream, so reading never bumps the room's seq."""

    room_id: str
    seq: int
    n: int


Event = (
    RoomCreated
    | UserJoined
    | UserLeft
    | MessageCreated
    | MessageUpdated
    | MessageDeleted
    | ReadMarked
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (
        RoomCreated,
        UserJoined,
        UserLeft,
        MessageCreated,
        MessageUpdated,
        MessageDeleted,
        ReadMarked,
    )
}


def event_type(event: Event) -> str:
    return type(event).__struct_config__.tag  # type: ignore[return-value]


class Envelope(msgspec.Struct, frozen=True):
    """An event as the log stores it: where it sits (stream, version), who caused it and when."""

    stream: str
    version: int
    type: str
    v: int
    at: str
    actor: str
    event_id: str
    command_id: str
    data: Event


class UnknownEvent(Exception):
    """A stored event this code cannot read: unknown type, or a schema version from the future."""


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Upcasters:
    """Registry of `(type, from_version) -> function` that lifts an old document one version up."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        def add(step: Upcaster) -> Upcaster:
            self._steps[(type_name, from_version)] = step
            return step

        return add

    def lift(self, type_name: str, version: int, document: dict[str, Any]) -> dict[str, Any]:
        current = EVENT_TYPES[type_name].V
        while version < current:
            step = self._steps.get((type_name, version))
            if step is None:
                raise UnknownEvent(f"no upcaster for {type_name} v{version}")
            document = step(document)
            version += 1
        return document


UPCASTERS = Upcasters()

_payload_decoder = msgspec.json.Decoder(Event)
_envelope_decoder = msgspec.json.Decoder(Envelope)
_encoder = msgspec.json.Encoder()


def encode(value: Event | Envelope) -> bytes:
    return _encoder.encode(value)


def decode_payload(
    type_name: str, version: int, data: bytes | str, upcasters: Upcasters = UPCASTERS
) -> Event:
    """Read the `data` document of a stored event, lifting an older schema to the current one."""
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        raise UnknownEvent(f"unknown event type {type_name!r}")
    if version > cls.V:
        raise UnknownEvent(f"{type_name} v{version} is newer than this code (v{cls.V})")
    try:
        if version == cls.V:
            event = cast(Event, _payload_decoder.decode(data))
        else:
            document = msgspec.json.decode(data)
            document = upcasters.lift(type_name, version, document)
            document["type"] = type_name
            event = cast(Event, msgspec.convert(document, Event))
    except msgspec.DecodeError as error:
        raise UnknownEvent(f"{type_name} v{version} does not match its schema: {error}") from error
    if not isinstance(event, cls):
        raise UnknownEvent(f"an event stored as {type_name} holds a {event_type(event)}")
    return event


def decode_envelope(line: bytes | str, upcasters: Upcasters = UPCASTERS) -> Envelope:
    """Read one exported event (a JSON object with the envelope fields and an inline `data`)."""
    try:
        envelope = _envelope_decoder.decode(line)
    except msgspec.ValidationError:
        envelope = None
    if envelope is not None and envelope.v == type(envelope.data).V:
        return envelope
    raw = msgspec.json.decode(line)
    document = raw.pop("data")
    data = decode_payload(raw["type"], raw["v"], msgspec.json.encode(document), upcasters)
    # The lifted data is of the current schema, and the envelope says so (as the event store's
    # codec does): re-exporting it must not run the upcasters a second time.
    raw["v"] = data.V
    return Envelope(**raw, data=data)

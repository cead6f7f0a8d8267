"""Events <-> DynamoDB items of the events table (the same shape a stream's NewImage carries)."""

from __future__ import annotations

from typing import Any

import msgspec

from domain.events import Envelope, UnknownEvent, decode_payload, encode

Item = dict[str, Any]


def to_event_item(envelope: Envelope) -> Item:
    return {
        "pk": {"S": envelope.stream},
        "sk": {"N": str(envelope.version)},
        "type": {"S": envelope.type},
        "v": {"N": str(envelope.v)},
        "at": {"S": envelope.at},
        "actor": {"S": envelope.actor},
        "event_id": {"S": envelope.event_id},
        "command_id": {"S": envelope.command_id},
        "data": {"S": encode(envelope.data).decode()},
    }


def is_event_item(item: Item) -> bool:
    """Events have sk >= 1; heads, command records and tombstones live at sk = 0."""
    return "sk" in item and item["sk"].get("N", "0") != "0" and "type" in item


def from_event_item(item: Item) -> Envelope:
    """Decode a stored event; raises UnknownEvent for anything this code cannot read."""
    try:
        type_name = item["type"]["S"]
        version = int(item["v"]["N"])
        data = decode_payload(type_name, version, item["data"]["S"])
        return Envelope(
            item["pk"]["S"],
            int(item["sk"]["N"]),
            type_name,
            data.V,
            item["at"]["S"],
            item["actor"]["S"],
            item["event_id"]["S"],
            item["command_id"]["S"],
            data,
        )
    except (KeyError, ValueError, msgspec.DecodeError) as error:
        raise UnknownEvent(f"malformed event item: {error!r}") from error


def event_image(record: dict[str, Any]) -> Item | None:
    """The new event item a DynamoDB Stream record carries; None for anything else (stream heads,
    command records, tombstones, TTL removals)."""
    image = record.get("dynamodb", {}).get("NewImage")
    if record.get("eventName") == "REMOVE" or not image or not is_event_item(image):
        return None
    return image  # type: ignore[no-any-return]

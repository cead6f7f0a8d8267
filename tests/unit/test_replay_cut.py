"""Replay up to a time cuts each stream at its first later event."""

from __future__ import annotations

from domain.events import Envelope, RoomCreated
from ops.replay import cut_streams, normalize_time


def at(stream: str, version: int, time: str) -> Envelope:
    event = RoomCreated("r", "group", "n", ("a",))
    return Envelope(stream, version, "room.created", 1, time, "a", "e", "c", event)


def test_a_stream_is_cut_at_its_first_later_event_and_never_holed() -> None:
    log = [
        at("room#a", 1, "2026-11-25T10:00:00.000Z"),
        at("room#a", 2, "2026-11-25T10:05:00.000Z"),
        at("room#a", 3, "2026-11-25T10:01:00.000Z"),  # a writer whose clock ran behind
        at("room#b", 1, "2026-11-25T10:02:00.000Z"),
    ]

    kept = cut_streams(log, "2026-11-25T10:02:00.000Z")

    assert [(e.stream, e.version) for e in kept] == [("room#a", 1), ("room#b", 1)]


def test_a_time_with_an_offset_or_none_is_read_as_the_logs_utc_format() -> None:
    assert normalize_time("2026-11-25T11:01+01:00") == "2026-11-25T10:01:00.000Z"
    assert normalize_time("2026-11-25T10:01:02.5") == "2026-11-25T10:01:02.500Z"
    assert normalize_time("2026-11-25T10:01:02Z") == "2026-11-25T10:01:02.000Z"

"""Publishes chat events to EventBridge: PutEvents calls of at most 10 entries and 256 KB, failed
entries resent."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

import msgspec

from adapters.aws import client
from adapters.batching import runs
from components.topology import BUS_SOURCE
from domain.events import Envelope
from domain.public import detail

BATCH: Final = 10  # PutEvents accepts at most 10 entries
REQUEST_BYTES: Final = 256 * 1024  # and at most 256 KB of entries (EventBridge's own measure)
ATTEMPTS: Final = 4


class PublishFailed(Exception):
    """Some entries were still refused after every attempt."""


class EventBridgeBus:
    def __init__(
        self,
        bus_name: str,
        events: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bus_name = bus_name
        self.events = events or client("events")
        self.sleep = sleep

    def entry(self, envelope: Envelope) -> dict[str, str]:
        return {
            "Source": BUS_SOURCE,
            "DetailType": envelope.type,
            "Detail": msgspec.json.encode(detail(envelope)).decode(),
            "EventBusName": self.bus_name,
        }

    def signal(self, detail_type: str, detail: dict[str, object]) -> None:
        """An ephemeral signal (typing): on the bus for the members, never in the log."""
        entry = {
            "Source": BUS_SOURCE,
            "DetailType": detail_type,
            "Detail": msgspec.json.encode(detail).decode(),
            "EventBusName": self.bus_name,
        }
        self._put([entry])

    def publish(self, envelopes: Iterable[Envelope]) -> None:
        for batch in batches([self.entry(envelope) for envelope in envelopes]):
            self._put(batch)

    def _put(self, entries: list[dict[str, str]]) -> None:
        for attempt in range(ATTEMPTS):
            response = self.events.put_events(Entries=entries)
            if not response.get("FailedEntryCount"):
                return
            # Results line up with entries; resend only the ones that carry an error code.
            entries = [
                entry
                for entry, result in zip(entries, response["Entries"], strict=True)
                if result.get("ErrorCode")
            ]
            self.sleep(0.05 * 2**attempt)
        raise PublishFailed(f"{len(entries)} events refused by bus {self.bus_name}")


def entry_size(entry: dict[str, str]) -> int:
    """An entry's size as EventBridge counts it: the UTF-8 bytes of its source, detail type and
    detail (and the bus name, to be safe)."""
    return sum(len(value.encode()) for value in entry.values())


def batches(entries: list[dict[str, str]]) -> Iterator[list[dict[str, str]]]:
    """Consecutive runs of entries, in order, each one PutEvents call can take."""
    return runs(entries, entry_size, BATCH, REQUEST_BYTES)

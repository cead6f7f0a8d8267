"""Projects events of the log into the views and onto the bus, one stream record at a time."""

from __future__ import annotations

from collections.abc import Callable

from application.ports import EventBus, ViewStore
from domain.events import Envelope
from domain.projection import project


class HeldBack(Exception):
    """An earlier event of the same stream failed in this batch; this one must wait behind it."""


class StreamProjector:
    """Applies events in order; once a stream fails in a batch, its later events fail too.

    Views of one stream must be applied in version order (an edit must not land before the message
    it edits), and Lambda resumes a shard from the first failed record anyway, so holding the
    rest of that stream back costs nothing and keeps the order. Other streams proceed.
    """

    def __init__(self, views: ViewStore, bus: EventBus) -> None:
        self.views = views
        self.bus = bus
        self.failed_streams: set[str] = set()

    def handle(self, stream: str, decode: Callable[[], Envelope]) -> Envelope:
        if stream in self.failed_streams:
            raise HeldBack(f"{stream} has an earlier failed event in this batch")
        try:
            envelope = decode()
            self.views.apply(project(envelope))
            self.bus.publish((envelope,))
        except Exception:
            self.failed_streams.add(stream)
            raise
        return envelope

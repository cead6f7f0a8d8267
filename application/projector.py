"""Projects a batch of the log's events into the views and onto the bus."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Final

from application.ports import EventBus, ViewStore
from domain.events import Envelope
from domain.projection import project

STREAMS_SIDE_BY_SIDE: Final = 8

Decode = Callable[[], Envelope]


class HeldBack(Exception):
    """An earlier event of the same stream failed in this batch; this one must wait behind it."""


class EachOf:
    """Publishes to each of its buses in turn: a failure stops it, and the projector's retry
    publishes to all of them again (each takes an event at least once)."""

    def __init__(self, buses: Sequence[EventBus]) -> None:
        self.buses = buses

    def publish(self, envelopes: Iterable[Envelope]) -> None:
        envelopes = list(envelopes)
        for bus in self.buses:
            bus.publish(envelopes)


class StreamProjector:
    """Applies each stream's events in order, and different streams side by side.

    Views of one stream must be applied in version order (an edit must not land before the message
    it edits), so once an event fails, its stream's later events in the batch fail too (Lambda
    resumes a shard from the first failed record anyway, so holding them back costs nothing).
    Streams share no field whose order matters (each write is guarded by its own stream's
    version; on AWS different shards' streams are projected concurrently anyway), so a batch of
    many rooms' events takes as long as its longest stream, not their sum: a shard is read by one
    invocation at a time, and this is what lets it keep up with many busy rooms. A stream's
    events are published once its views are written, in order.
    """

    def __init__(self, views: ViewStore, bus: EventBus) -> None:
        self.views = views
        self.bus = bus

    def project(self, batch: Sequence[tuple[str, Decode]]) -> list[Exception | None]:
        """Each record's failure, in the batch's order; None where it was projected and
        published."""
        streams: dict[str, list[int]] = {}
        for index, (stream, _) in enumerate(batch):
            streams.setdefault(stream, []).append(index)
        outcomes: list[Exception | None] = [None] * len(batch)

        def one_stream(indices: list[int]) -> None:
            projected: list[Envelope] = []
            for position, index in enumerate(indices):
                try:
                    envelope = batch[index][1]()
                    self.views.apply(project(envelope))
                except Exception as error:
                    outcomes[index] = error
                    for later in indices[position + 1 :]:
                        outcomes[later] = HeldBack(f"{batch[later][0]} failed earlier in the batch")
                    break
                projected.append(envelope)
            if not projected:
                return
            try:
                self.bus.publish(projected)
            except Exception as error:  # its views are written; a redelivery publishes them again
                for index in indices[: len(projected)]:
                    outcomes[index] = error

        if len(streams) <= 1:
            for indices in streams.values():
                one_stream(indices)
        else:
            with ThreadPoolExecutor(min(STREAMS_SIDE_BY_SIDE, len(streams))) as pool:
                list(pool.map(one_stream, streams.values()))
        return outcomes

    def project_events(self, envelopes: Sequence[Envelope]) -> None:
        """Project events already decoded (a rebuild, a benchmark); raises the first failure."""
        outcomes = self.project([(e.stream, partial(_decoded, e)) for e in envelopes])
        failure = next((outcome for outcome in outcomes if outcome is not None), None)
        if failure is not None:
            raise failure


def _decoded(envelope: Envelope) -> Envelope:
    return envelope

"""Rebuild the views from the event log: into a fresh table, in place, or as a drift report.

It folds with `domain.projection` — the very code the projector runs — so what it builds is what
the live projector would have built from the same events.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from domain.events import Envelope, UnknownEvent
from domain.projection import Key, Row, Views


class Progress:
    """A line on stderr every `every` items: how many, and how fast."""

    def __init__(self, what: str, out: TextIO = sys.stderr, every: int = 50_000) -> None:
        self.what, self.out, self.every = what, out, every
        self.count = 0
        self.started = time.perf_counter()

    def tick(self, n: int = 1) -> None:
        before = self.count // self.every
        self.count += n
        if self.count // self.every != before:
            self.report()

    def report(self) -> None:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        print(f"  {self.what}: {self.count:,} ({self.count / elapsed:,.0f}/s)", file=self.out)


@dataclass
class Drift:
    missing: list[Key] = field(default_factory=list)  # in the fold, not live
    extra: list[Key] = field(default_factory=list)  # live, not in the fold
    different: list[Key] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.different)


def fold_log(
    items: Iterable[Any],
    decode: Callable[[Any], Envelope],
    until: str | None = None,
    progress: Progress | None = None,
) -> tuple[Views, list[str]]:
    """Decode every event and fold the log stream by stream, each stream up to its first event
    after `until` (clocks of different writers may disagree, so a stream is cut, never holed).

    Returns the views and the reasons of the events that could not be decoded.
    """
    envelopes: list[Envelope] = []
    unreadable: list[str] = []
    for item in items:
        try:
            envelopes.append(decode(item))
        except UnknownEvent as error:
            unreadable.append(str(error))
        if progress:
            progress.tick()
    envelopes.sort(key=lambda e: (e.stream, e.version))
    if until is not None:
        envelopes = list(cut_streams(envelopes, until))
    return Views().fold(envelopes), unreadable


def cut_streams(envelopes: list[Envelope], until: str) -> Iterator[Envelope]:
    stopped: str | None = None
    for envelope in envelopes:
        if envelope.stream == stopped:
            continue
        if envelope.at > until:
            stopped = envelope.stream
            continue
        yield envelope


def normalize_time(text: str) -> str:
    """Any ISO-8601 time -> the log's own UTC format, so comparing as text is comparing times."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def drift(folded: Views, live: Iterable[Row]) -> Drift:
    found = Drift()
    expected = {key: {"pk": key[0], "sk": key[1], **row} for key, row in folded.rows.items()}
    seen: set[Key] = set()
    for row in live:
        key = (row["pk"], row["sk"])
        seen.add(key)
        if key not in expected:
            found.extra.append(key)
        elif expected[key] != row:
            found.different.append(key)
    found.missing = [key for key in expected if key not in seen]
    return found


def rows_to_write(folded: Views, report: Drift) -> Iterator[Row]:
    for key in (*report.missing, *report.different):
        yield {"pk": key[0], "sk": key[1], **folded.rows[key]}

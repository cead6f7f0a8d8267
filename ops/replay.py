"""Rebuild the views from the event log: into a fresh table, in place, or as a drift report.

It folds with `domain.projection` — the very code the projector runs — so what it builds is what
the live projector would have built from the same events.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
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
    """Decode every event, keep those at or before `until`, and fold them stream by stream.

    Returns the views and the reasons of the events that could not be decoded.
    """
    envelopes: list[Envelope] = []
    unreadable: list[str] = []
    for item in items:
        try:
            envelope = decode(item)
        except UnknownEvent as error:
            unreadable.append(str(error))
            continue
        if until is None or envelope.at <= until:
            envelopes.append(envelope)
        if progress:
            progress.tick()
    envelopes.sort(key=lambda e: (e.stream, e.version))
    return Views().fold(envelopes), unreadable


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

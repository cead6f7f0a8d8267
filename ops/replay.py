"""Rebuild the views from the event log: into a fresh table, in place, or as a drift report.

It folds with `domain.projection` — the very code the projector runs — so what it builds is what
the live projector would have built from the same events.

On a live stage the projector keeps writing while replay reads. The read of the log speaks for
each stream only up to the last version it saw (`Fold.covered`), and a view row says which
versions it reflects through its guards (`src`: its room stream's, `rsrc`: its reader's stream's).
So the drift check judges a row only on the fields whose guard is within what the read covered
(what the projector wrote for later events is not drift), gives the projector time to reach rows
that are only behind the read, and the repair writes and deletes each row on the condition that
its guards still are within what the read covered: it never rolls back or deletes a row the
projector wrote for an event after the read.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol, TextIO

from domain.events import Envelope, UnknownEvent
from domain.ids import ROOM_PREFIX, reader_stream
from domain.projection import (
    INBOX_PREFIX,
    MEMBERS_PREFIX,
    META,
    READ_GUARD,
    ROOM_GUARD,
    Key,
    Row,
    Views,
)

# How long a drift check waits, at most, for the projector to apply the events the read saw that
# it had not applied yet (on AWS it lags the log by well under a second when healthy).
SETTLE_SECONDS: Final = 5.0
REPAIR_ATTEMPTS: Final = 3
REPAIR_WORKERS: Final = 16  # rows repaired side by side (each is a conditional request of its own)
# The fields of an inbox row that only its reader's stream writes, and those both of its streams
# write (with the same values): every other field of a view row belongs to its room stream.
READ_FIELDS: Final = frozenset({"read_seq", "read_n", READ_GUARD})
SHARED_FIELDS: Final = frozenset({"user_id", "room_id"})
_KEY_FIELDS: Final = ("pk", "sk")
_ALL: Final = sys.maxsize  # the bound of a guard when the read speaks for every version


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


class Fold(Views):
    """The views folded from one read of the log, and how far that read went in each stream:
    `covered[stream]` is the last version of the stream the read saw with every version before it
    (0, or absent, for a stream the read did not see)."""

    __slots__ = ("covered",)

    def __init__(self) -> None:
        super().__init__()
        self.covered: dict[str, int] = {}


def fold_log(
    items: Iterable[Any],
    decode: Callable[[Any], Envelope],
    until: str | None = None,
    progress: Progress | None = None,
) -> tuple[Fold, list[str]]:
    """Decode every event and fold the log stream by stream, each stream up to its first event
    after `until` (clocks of different writers may disagree, so a stream is cut, never holed),
    and up to its first version the read did not see (a scan is no snapshot: what it missed must
    not be folded over).

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
    folded = Fold()
    read: Iterable[Envelope] = contiguous(envelopes, folded.covered)
    if until is not None:
        read = cut_streams(read, until)
    folded.fold(read)
    return folded, unreadable


def contiguous(envelopes: Iterable[Envelope], covered: dict[str, int]) -> Iterator[Envelope]:
    """Each stream's events (sorted by stream and version) up to its first missing version,
    noting in `covered` the last version given of each stream."""
    stream, expected = "", 1
    for envelope in envelopes:
        if envelope.stream != stream:
            stream, expected = envelope.stream, 1
        if envelope.version == expected:
            covered[stream] = expected
            expected += 1
            yield envelope


def cut_streams(envelopes: Iterable[Envelope], until: str) -> Iterator[Envelope]:
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


# --- guards: which stream speaks for which fields of a row ------------------------------------


def guards_of(key: Key) -> dict[str, str]:
    """The guards a view row carries, each with the stream whose versions it counts (none for a
    key the projector never writes)."""
    pk, sk = key
    if pk.startswith(ROOM_PREFIX):  # the room's row and its messages
        return {ROOM_GUARD: pk}
    if pk.startswith(MEMBERS_PREFIX):
        return {ROOM_GUARD: ROOM_PREFIX + pk[len(MEMBERS_PREFIX) :]}
    if pk.startswith(INBOX_PREFIX) and sk.startswith(ROOM_PREFIX):
        user_id, room_id = pk[len(INBOX_PREFIX) :], sk[len(ROOM_PREFIX) :]
        return {ROOM_GUARD: sk, READ_GUARD: reader_stream(user_id, room_id)}
    return {}


def owners(name: str, guards: Mapping[str, str]) -> frozenset[str]:
    """The guards whose writes set the field `name` of a row with those guards."""
    if READ_GUARD not in guards:
        return frozenset(guards)  # one stream (or none) writes the whole row
    if name in READ_FIELDS:
        return frozenset((READ_GUARD,))
    if name in SHARED_FIELDS:
        return frozenset((ROOM_GUARD, READ_GUARD))
    return frozenset((ROOM_GUARD,))


def bounds(guards: Mapping[str, str], covered: Mapping[str, int] | None) -> dict[str, int]:
    """Each guard's bound: the last version of its stream the read covered."""
    if covered is None:
        return dict.fromkeys(guards, _ALL)
    return {guard: covered.get(stream, 0) for guard, stream in guards.items()}


def _version(row: Row | None, guard: str) -> int:
    value = row.get(guard, 0) if row else 0
    return value if isinstance(value, int) else 0


class _Absent:
    def __repr__(self) -> str:
        return "absent"


ABSENT: Final = _Absent()


# --- the drift check --------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One drifted row: what differs between the live row and the folded one, field by field."""

    key: Key
    kind: str  # "missing" (folded, not live), "extra" (live, not folded), "different"
    fields: dict[str, tuple[Any, Any]]  # field -> (live value, folded value), ABSENT for none
    live: Row | None  # as read (without its key)
    behind: bool = False  # every difference may be the projector not having applied the read yet
    newer: frozenset[str] = frozenset()  # guards of the live row past the read: fields not judged


@dataclass
class Drift:
    missing: list[Key] = field(default_factory=list)  # in the fold, not live
    extra: list[Key] = field(default_factory=list)  # live, not in the fold
    different: list[Key] = field(default_factory=list)
    rows: dict[Key, Difference] = field(default_factory=dict)
    newer: int = 0  # live rows (wholly or partly) written for events after the read: not drift
    caught_up: int = 0  # rows behind the read that the projector reached while the check waited
    progress: dict[str, int] = field(default_factory=dict)  # stream -> highest live guard seen

    @property
    def total(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.different)

    @property
    def behind(self) -> list[Key]:
        """Drifted rows that only lack what the read saw and the projector had not applied."""
        return [key for key, difference in self.rows.items() if difference.behind]

    def add(self, difference: Difference) -> None:
        self.rows[difference.key] = difference
        {"missing": self.missing, "extra": self.extra, "different": self.different}[
            difference.kind
        ].append(difference.key)


def judge(
    key: Key,
    folded: Row | None,
    live: Row | None,
    covered: Mapping[str, int] | None,
    progress: Mapping[str, int],
) -> tuple[Difference | None, bool]:
    """Compare a live row (without its key) with the folded one, on the fields the read speaks
    for; returns the difference (None when there is none) and whether the live row is, wholly or
    partly, newer than the read.

    A guard of the live row past what the read covered of its stream means the projector applied
    a later event to the row: the fields that guard's stream writes are not judged. A difference
    is `behind` when each differing field's stream is behind the fold on this row and no live row
    shows the projector past the fold's version of it (then the projector may just not have
    applied it yet). Anything else is drift for certain: a guard within the read but content
    that differs, a guard the log never wrote, a row the log never made.
    """
    guards = guards_of(key)
    bound = bounds(guards, covered)
    newer = frozenset(g for g in guards if live is not None and _version(live, g) > bound[g])
    if guards and newer == guards.keys():
        return None, True
    was, want = live or {}, folded or {}
    fields: dict[str, tuple[Any, Any]] = {}
    for name in sorted(was.keys() | want.keys()):
        if owners(name, guards) & newer:
            continue
        now, then = was.get(name, ABSENT), want.get(name, ABSENT)
        if now != then:
            fields[name] = (now, then)
    exists = not newer and (folded is None) != (live is None)
    if not fields and not exists:
        return None, bool(newer)

    def lagging(guard: str) -> bool:
        version = _version(folded, guard)
        return _version(live, guard) < version and progress.get(guards[guard], 0) <= version

    behind = bool(fields) and all(
        any(lagging(guard) for guard in owners(name, guards)) for name in fields
    )
    kind = "missing" if live is None else "extra" if folded is None and not newer else "different"
    return Difference(key, kind, fields, live, behind, newer), bool(newer)


def _note_progress(progress: dict[str, int], key: Key, row: Row) -> None:
    for guard, stream in guards_of(key).items():
        version = _version(row, guard)
        if version > progress.get(stream, 0):
            progress[stream] = version


def _without_key(row: Row) -> Row:
    return {name: value for name, value in row.items() if name not in _KEY_FIELDS}


def drift(folded: Views, live: Iterable[Row], covered: Mapping[str, int] | None = None) -> Drift:
    """The rows of the live views that differ from the fold, on what the read speaks for.

    `covered` (by default the fold's own, for a `Fold`) is how far the read went in each stream;
    without it the read speaks for every version. Rows `behind` are only candidates: `recheck`
    gives the projector time to reach them.
    """
    if covered is None and isinstance(folded, Fold):
        covered = folded.covered
    found = Drift()
    rows = folded.rows
    doubted: dict[Key, Row] = {}
    seen: set[Key] = set()
    for row in live:
        key = (row["pk"], row["sk"])
        seen.add(key)
        _note_progress(found.progress, key, row)
        plain = _without_key(row)
        if rows.get(key) != plain:
            doubted[key] = plain
    for key, plain in doubted.items():
        difference, newer = judge(key, rows.get(key), plain, covered, found.progress)
        found.newer += newer
        if difference:
            found.add(difference)
    for key, folded_row in rows.items():
        if key not in seen:
            difference, _ = judge(key, folded_row, None, covered, found.progress)
            if difference:
                found.add(difference)
    return found


class LiveViews(Protocol):
    """What the drift check and the repair need of the views table (`DynamoViewStore`)."""

    table: str

    def scan_rows(self) -> Iterator[Row]: ...

    def get_rows(self, keys: Iterable[Key]) -> dict[Key, Row]: ...

    def put_row_if(self, row: Row, newest: Mapping[str, int]) -> bool: ...

    def update_row_if(
        self, key: Key, fields: Row, remove: Iterable[str], newest: Mapping[str, int]
    ) -> bool: ...

    def delete_row_if(self, key: Key, newest: Mapping[str, int]) -> bool: ...


def recheck(
    report: Drift,
    folded: Views,
    views: LiveViews,
    seconds: float = SETTLE_SECONDS,
    covered: Mapping[str, int] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Drift:
    """Read every drifted row again, consistently, and the ones only behind the read again until
    the projector has reached them or `seconds` have passed: returns the drift that remains.

    Each round reads the rooms' rows first (every room event writes its room's row, so one past
    the fold's version of a row proves the projector is past that event: the row is then drifted
    for certain), then the rows in doubt.
    """
    if covered is None and isinstance(folded, Fold):
        covered = folded.covered
    deadline = clock() + seconds
    progress = dict(report.progress)
    settled: dict[Key, Difference] = {}
    newer, caught_up = report.newer, 0
    doubted = list(report.rows)
    pause = 0.1
    while doubted:
        streams = {guards_of(key).get(ROOM_GUARD) for key in doubted}
        rooms = sorted((stream, META) for stream in streams if stream)
        for key, row in views.get_rows(rooms).items():
            _note_progress(progress, key, row)
        live = views.get_rows(doubted)
        for key, row in live.items():
            _note_progress(progress, key, row)
        still: list[Key] = []
        for key in doubted:
            now = live.get(key)
            plain = _without_key(now) if now is not None else None
            difference, is_newer = judge(key, folded.rows.get(key), plain, covered, progress)
            if difference is None:  # the projector got there: it was behind, or a later event
                newer += is_newer
                caught_up += not is_newer
                settled.pop(key, None)
            elif difference.behind:
                still.append(key)
                settled[key] = difference
            else:
                settled[key] = difference
        doubted = still
        left = deadline - clock()
        if not doubted or left <= 0:
            break
        sleep(min(pause, left))
        pause = min(pause * 2, 1.0)
    found = Drift(newer=newer, caught_up=caught_up, progress=progress)
    for key in report.rows:  # in the order the check found them
        if key in settled:
            found.add(settled[key])
    return found


# --- the repair -------------------------------------------------------------------------------


@dataclass
class Repaired:
    written: int = 0
    deleted: int = 0
    newer: int = 0  # rows the projector moved past the read before the repair reached them
    failed: list[Key] = field(default_factory=list)


def repair(
    folded: Views,
    report: Drift,
    views: LiveViews,
    covered: Mapping[str, int] | None = None,
    attempts: int = REPAIR_ATTEMPTS,
    workers: int = REPAIR_WORKERS,
) -> Repaired:
    """Write the folded row over each drifted one, or delete it when the fold has none, each on
    the condition that the live row's guards are still within what the read covered.

    A guard within the read means every event the projector applied to the row is in the fold:
    the folded row is what the projector would have built, and when the projector later applies
    an event the read saw, its own guard makes that a no-op. A guard past the read means a later
    event: the write does not happen, and the row is read again and judged again (an inbox row
    whose room part is newer still gets its reader part repaired, and the other way round).
    """
    if covered is None and isinstance(folded, Fold):
        covered = folded.covered

    def one(difference: Difference) -> str:
        key = difference.key
        folded_row = folded.rows.get(key)
        guards = guards_of(key)
        bound = bounds(guards, covered)
        live, newer = difference.live, difference.newer
        for _ in range(attempts):
            if not newer and folded_row is None:
                if views.delete_row_if(key, bound):
                    return "deleted"
            elif not newer:
                assert folded_row is not None
                if views.put_row_if({"pk": key[0], "sk": key[1], **folded_row}, bound):
                    return "written"
            else:
                want, was = folded_row or {}, live or {}
                judged = {
                    name for name in want.keys() | was.keys() if not owners(name, guards) & newer
                }
                fields = {name: want[name] for name in judged if name in want}
                remove = sorted(name for name in judged if name not in want)
                checked = {guard: bound[guard] for guard in guards if guard not in newer}
                if views.update_row_if(key, fields, remove, checked):
                    return "written"
            row = views.get_rows([key]).get(key)
            plain = _without_key(row) if row is not None else None
            again, is_newer = judge(key, folded_row, plain, covered, {})
            if again is None:
                return "newer" if is_newer else "done"
            live, newer = again.live, again.newer
        return "failed"

    done = Repaired()
    differences = list(report.rows.values())
    with ThreadPoolExecutor(max(1, min(workers, len(differences)))) as pool:
        for difference, outcome in zip(differences, pool.map(one, differences), strict=True):
            done.written += outcome == "written"
            done.deleted += outcome == "deleted"
            done.newer += outcome == "newer"
            if outcome == "failed":
                done.failed.append(difference.key)
    return done


# --- the report -------------------------------------------------------------------------------


def _shown(value: Any, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def describe(report: Drift, limit: int = 20) -> Iterator[str]:
    """A line per drifted row (up to `limit`): its kind, its key, the fields that differ."""
    differences = sorted(report.rows.values(), key=lambda d: (d.kind, d.key))
    for difference in differences[:limit]:
        if difference.kind == "different":
            fields = ", ".join(
                f"{name} (live {_shown(now)}, log {_shown(then)})"
                for name, (now, then) in difference.fields.items()
            )
        else:
            fields = ", ".join(difference.fields) or "no fields"
        note = " [projector behind the log]" if difference.behind else ""
        yield f"  {difference.kind} {difference.key[0]} {difference.key[1]}{note}: {fields}"
    if len(differences) > limit:
        yield f"  ... and {len(differences) - limit:,} more"


def check_views(
    folded: Views,
    views: LiveViews,
    *,
    in_place: bool = False,
    settle: float = SETTLE_SECONDS,
    out: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """`chat replay --dry-run` and `--in-place` on the live views: compare, wait for the projector
    on what is only behind, print the drift, repair it with `in_place`. Returns the exit status:
    1 for drift on a dry run, or for rows a repair could not write; 0 otherwise."""
    out = out or sys.stdout
    report = recheck(drift(folded, views.scan_rows()), folded, views, settle, sleep=sleep)
    print(
        f"drift in {views.table}: {len(report.missing)} missing, {len(report.extra)} extra, "
        f"{len(report.different)} different",
        file=out,
    )
    if report.newer or report.caught_up:
        print(
            f"  not drift: {report.newer:,} rows newer than the log read, "
            f"{report.caught_up:,} rows the projector applied during the check",
            file=out,
        )
    for line in describe(report):
        print(line, file=out)
    if not report.total:
        return 0
    if not in_place:
        return 1
    done = repair(folded, report, views)
    print(
        f"repaired: {done.written:,} rows written, {done.deleted:,} deleted"
        + (f", {done.newer:,} left to the projector (newer than the read)" if done.newer else ""),
        file=out,
    )
    for key in done.failed[:20]:
        print(f"  not repaired (kept changing): {key[0]} {key[1]}", file=out)
    return 1 if done.failed else 0

"""Replay benchmark: how fast the read models can be rebuilt from an exported log.

    uv run python -m bench.replay [--events N] [--repeats R] [--seed S] [--no-gc]

1. Builds a log of N events through the real rules (`bench.workload`: ChatService over the
   in-memory store, fixed clock, seeded ids and choices) and exports it as JSON lines with
   `domain.events.encode`, the export format.
2. Times, in the same process and under the same conditions, R rounds of alternating passes:
   - decode only: `decode_envelope` over every line (each result dropped as it comes);
   - full fold: every line decoded and folded into one fresh `Views` by `Views.fold`, the loop
     replay uses, which applies exactly the writes `project` gives with `Views.apply`'s guards;
     the rows are retained, as a rebuild retains them;
   - for comparison, the same rows built with the general path (each write of `project(env)`
     through `Views.apply`), and a reference "plain" fold that only decodes and stores one dict
     per message (no guards, no room, member or inbox rows: not the projection, a floor for
     any fold that keeps rows as dicts on this machine);
   then prints the median rate of each and, last, the ratio fold/decode against the target.
3. Verifies (untimed) that the timed fold built the same rows as the general path over
   separately decoded envelopes, and that they are what the log implies, so the benchmark
   cannot silently fold nothing.

Fairness: every pass starts after the previous pass's objects are freed and `gc.collect()` has
run, both outside the timer; the workload and the log are frozen out of the collector
(`gc.freeze()`), so a collection during a pass costs what it would in a replay process, not the
benchmark's own heap. The collector stays enabled in every pass unless `--no-gc` disables it in
every pass. Page faults are counted per pass: first touch of fresh memory is slow on this VM and
only the folds retain memory.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench.workload import build_log, describe
from domain.events import Envelope, MessageCreated, decode_envelope, encode
from domain.ids import room_of_stream
from domain.projection import Views, message_sk, project

TARGET = 0.4


def decode_pass(lines: list[bytes]) -> int:
    decode = decode_envelope
    count = 0
    for line in lines:
        decode(line)
        count += 1
    return count


def fold_pass(lines: list[bytes]) -> Views:
    return Views().fold(map(decode_envelope, lines))


def general_pass(lines: list[bytes]) -> Views:
    """The fold spelled out with the public pieces: every write of `project`, through `apply`."""
    views = Views()
    apply = views.apply
    for line in lines:
        for write in project(decode_envelope(line)):
            apply(write)
    return views


def plain_pass(lines: list[bytes]) -> dict[tuple[str, str], dict[str, Any]]:
    """Reference only: decode, and keep one dict per message; no guards, no other rows."""
    rows = {}
    for line in lines:
        env = decode_envelope(line)
        data = env.data
        if type(data) is MessageCreated:
            rows[(env.stream, message_sk(env.version))] = {
                "room_id": room_of_stream(env.stream),
                "seq": env.version,
                "n": data.n,
                "author": env.actor,
                "text": data.text,
                "at": env.at,
                "client_id": data.client_id,
                "deleted": False,
                "src": env.version,
            }
    return rows


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


class Timing:
    def __init__(self, name: str, run: Callable[[list[bytes]], object]) -> None:
        self.name, self.run = name, run
        self.seconds: list[float] = []
        self.faults: list[int] = []

    def once(self, lines: list[bytes], no_gc: bool) -> object:
        gc.collect()
        if no_gc:
            gc.disable()
        try:
            before = faults()
            start = time.perf_counter()
            result = self.run(lines)
            self.seconds.append(time.perf_counter() - start)
            self.faults.append(faults() - before)
        finally:
            gc.enable()
        return result

    def rate(self, n: int) -> float:
        return n / statistics.median(self.seconds)

    def line(self, label: str, n: int, decode: Timing | None = None) -> str:
        median = statistics.median(self.seconds)
        spread = f"{min(self.seconds) * 1e9 / n:.0f}-{max(self.seconds) * 1e9 / n:.0f}"
        ratio = f", ratio {self.rate(n) / decode.rate(n):.3f}" if decode else ""
        return (
            f"{label:<46} {self.rate(n):>10,.0f} events/s  ({median * 1e9 / n:5.0f} ns/event,"
            f" range {spread}; {statistics.median(self.faults) / n:.3f} faults/event{ratio})"
        )


def verify(lines: list[bytes], log: list[Envelope], folded: Views) -> str:
    envelopes = [decode_envelope(line) for line in lines]
    assert envelopes == log, "the export does not decode back to the log"
    reference = Views()
    for env in envelopes:
        for write in project(env):
            reference.apply(write)
    assert folded.rows == reference.rows, "Views.fold differs from project + apply"
    assert list(folded.items()) == list(reference.items()), "row or field order differs"
    counts = Counter(env.type for env in log)
    kinds = Counter(sk.partition("#")[0] for _pk, sk in folded.rows)
    assert kinds["msg"] == counts["message.created"], (kinds, counts)
    assert kinds["meta"] == counts["room.created"], (kinds, counts)
    assert kinds["member"] > 0 and kinds["room"] > 0, kinds
    deleted = sum(1 for row in folded.rows.values() if row.get("deleted"))
    assert 0 < deleted <= counts["message.deleted"], deleted
    read = sum(1 for row in folded.rows.values() if "read_seq" in row)
    assert 0 < read <= counts["read.marked"], read
    return f"{len(folded.rows)} rows ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Replay benchmark: decode rate vs fold rate.")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-gc", action="store_true", help="disable the GC in every timed pass")
    args = parser.parse_args(argv)
    n = args.events

    start = time.perf_counter()
    log = build_log(n, args.seed)
    built = time.perf_counter() - start
    lines = [encode(env) for env in log]
    size = sum(map(len, lines))
    print(f"python {sys.version.split()[0]}; {n} events built through ChatService in {built:.1f}s")
    print(f"log: {describe(log)}")
    print(f"export: {size / 1e6:.1f} MB of JSON lines, {size / n:.0f} bytes/event on average")

    # Only the lines take part in the timing; keep the collector off everything built so far.
    gc.collect()
    gc.freeze()

    decode = Timing("decode", decode_pass)
    fold = Timing("fold", fold_pass)
    general = Timing("general", general_pass)
    plain = Timing("plain", plain_pass)
    passes = (decode, general, plain, fold)
    for timing in passes:  # warm-up, untimed
        timing.run(lines)
    for timing in passes:
        timing.seconds.clear()
        timing.faults.clear()

    folded: object = None
    for _ in range(args.repeats):
        for timing in passes:
            folded = None  # the previous pass's rows are freed before the next pass starts
            folded = timing.once(lines, args.no_gc)

    assert isinstance(folded, Views)  # the last pass of the last round
    gc.unfreeze()
    print(f"verified: the timed fold built {verify(lines, log, folded)}")

    gc_state = "GC disabled in every timed pass" if args.no_gc else "GC enabled in every pass"
    print(
        f"timing: median of {args.repeats} rounds of alternating passes after a warm-up; {gc_state}"
    )
    print(decode.line("decode only (decode_envelope)", n))
    print(fold.line("full fold (decode + Views.fold)", n))
    print(general.line("  same rows via project() + Views.apply()", n, decode))
    print(plain.line("  reference: plain fold, message dicts only", n, decode))
    print(f"ratio fold/decode: {fold.rate(n) / decode.rate(n):.3f}  (target >= {TARGET})")


if __name__ == "__main__":
    main()

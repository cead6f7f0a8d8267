"""Cold start: how long each Lambda handler module takes to import in a fresh interpreter, beside
`import boto3` measured in the same run (target: each handler <= 1.5x boto3).

Two columns: with the bytecode cache as it is (a layer shipped with .pyc files), and with none
(every module compiled at import, as from an archive without .pyc: Lambda cannot write a cache).
Modules and boto3 are measured alternately, so a noisy neighbour slows both alike.

    uv run python -m bench.cold_start [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from components.topology import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "boto3"
TARGET = 1.5
PROBE = (
    "import time, importlib, sys; t = time.perf_counter(); importlib.import_module(sys.argv[1]); "
    "print(time.perf_counter() - t)"
)


def import_seconds(module: str, compiled: bool) -> float:
    """One fresh interpreter importing `module`; without `compiled`, into an empty pyc cache."""
    env = {**os.environ, "AWS_DEFAULT_REGION": "eu-west-1", "POWERTOOLS_METRICS_DISABLED": "true"}
    with tempfile.TemporaryDirectory() as empty_cache:
        flags = [] if compiled else ["-X", f"pycache_prefix={empty_cache}"]
        out = subprocess.run(
            [sys.executable, *flags, "-c", PROBE, module],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
        ).stdout
    return float(out.strip().splitlines()[-1])


def medians(modules: list[str], rounds: int, compiled: bool) -> dict[str, float]:
    samples: dict[str, list[float]] = {module: [] for module in modules}
    for _ in range(rounds):
        for module in modules:
            samples[module].append(import_seconds(module, compiled))
    return {module: statistics.median(values) for module, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    handlers = sorted({f.handler.rpartition(".")[0] for f in FUNCTIONS})
    modules = [BASELINE, *handlers]
    for module in modules:  # warm the bytecode cache and the page cache once
        import_seconds(module, compiled=True)
    cached = medians(modules, args.rounds, compiled=True)
    fresh = medians(modules, args.rounds, compiled=False)
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"cold import, median of {args.rounds} fresh interpreters (python {version}):")
    print(f"  {'module':<36}{'.pyc cached':>16}{'no .pyc':>20}")
    worst = 0.0
    for module in modules:
        ratio_cached = cached[module] / cached[BASELINE]
        ratio_fresh = fresh[module] / fresh[BASELINE]
        worst = max(worst, ratio_cached)
        print(
            f"  {module:<36}{cached[module] * 1000:>9.1f} ms {ratio_cached:4.2f}x"
            f"{fresh[module] * 1000:>11.1f} ms {ratio_fresh:4.2f}x"
        )
    verdict = "within" if worst <= TARGET else "over"
    print(f"worst handler/boto3 ratio (cached): {worst:.2f}x  ({verdict} the {TARGET}x target)")


if __name__ == "__main__":
    main()

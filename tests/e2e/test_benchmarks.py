"""Every benchmark in bench/ runs end to end, small, and prints its figures (what they measure is
read from the README, never asserted here: speed is measured, not tested)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from local.moto_process import ROOT


def run_bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "figure"),
    [
        (["bench.replay", "--events", "2000", "--repeats", "1"], "ratio fold/decode"),
        (["bench.append", "--commands", "10", "--repeats", "1"], "ratio service/raw"),
        (["bench.fanout", "--members", "3", "--tabs", "1"], "ratio reads(1000) / reads(100)"),
        (["bench.cold_start", "--rounds", "1"], "worst handler/boto3 ratio"),
    ],
    ids=["replay", "append", "fanout", "cold_start"],
)
def test_a_benchmark_runs_small_and_prints_its_figures(command: list[str], figure: str) -> None:
    assert figure in run_bench(*command)


@pytest.mark.slow
def test_the_latency_benchmark_delivers_every_message_to_every_other_member_kind_or_hostile() -> (
    None
):
    printed = run_bench(
        "bench.e2e_latency", "--clients", "6", "--rooms", "2", "--rates", "5", "--seconds", "1"
    )

    rounds = re.findall(r"sent (\d+) messages, (\d+) of (\d+) deliveries", printed)
    assert [tuple(map(int, found)) for found in rounds] == [(5, 10, 10), (5, 10, 10)]
    assert "off stage" in printed and "hostile stage" in printed
    assert "send->receive p99" in printed
    assert "x the reference work" in printed  # CPU per message comparable across machines


@pytest.mark.slow
def test_the_soak_loses_duplicates_and_reorders_nothing_on_a_hostile_stage_killed_once() -> None:
    printed = run_bench("bench.soak", "--sends", "300", "--rooms", "4", "--kills", "1")

    assert printed.splitlines()[-1] == (
        "soak: 300 acked, 0 lost, 0 duplicated, 0 out of order, drift 0"
    )

"""The local cloud's failure modes (local/chaos.py): named, counted, and an event source's
invocation failing before or after the function ran."""

from __future__ import annotations

from typing import Any

import pytest

from local import chaos
from local.chaos import HOSTILE, OFF, Chaos, InvocationFailed


def test_the_stage_is_kind_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(chaos.ENV, raising=False)
    assert chaos.from_environment() == OFF and not OFF.on

    monkeypatch.setenv(chaos.ENV, "hostile")
    assert chaos.from_environment() == HOSTILE and HOSTILE.on


def test_an_unknown_name_is_refused_with_the_names_there_are() -> None:
    with pytest.raises(ValueError, match="CHAT_CHAOS is one of off, hostile, not 'wild'"):
        chaos.named("wild")


def test_a_kind_stage_invokes_the_function_itself() -> None:
    def function(event: dict[str, Any]) -> str:
        return "done"

    assert OFF.invoking(function) is function


def test_an_invocation_that_fails_first_never_runs_the_function() -> None:
    ran: list[dict[str, Any]] = []
    invoke = Chaos(invoke_fails=1.0).invoking(ran.append)

    with pytest.raises(InvocationFailed, match="Rate Exceeded"):
        invoke({"n": 1})
    assert ran == []


def test_an_invocation_that_times_out_has_run_and_its_answer_is_lost() -> None:
    ran: list[dict[str, Any]] = []
    before = chaos.STRUCK["invoke_lost"]
    invoke = Chaos(invoke_lost=1.0).invoking(ran.append)

    with pytest.raises(InvocationFailed, match="timed out"):
        invoke({"n": 1})
    assert ran == [{"n": 1}]
    assert chaos.STRUCK["invoke_lost"] == before + 1


def test_a_hostile_stage_strikes_now_and_then_not_always() -> None:
    struck = sum(HOSTILE.strikes("throttle") for _ in range(2000))

    assert 20 < struck < 150  # 3 % of 2000 is 60

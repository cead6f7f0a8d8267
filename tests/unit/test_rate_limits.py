"""Per-user rate limits: the token bucket's laws, and which requests draw on which budget."""

from __future__ import annotations

from itertools import accumulate

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.memory import InMemoryRateLimiter
from application.pacing import pace, pace_frame
from application.ports import Throttled
from application.service import Busy
from domain.commands import INPUTS, action_of
from domain.errors import RateLimited
from domain.rate_limits import (
    BY_ACTION,
    FRAMES,
    LIMITS,
    MESSAGES,
    TYPING,
    Admission,
    Limit,
    admit,
    kept_until_s,
    retry_after_seconds,
)

limits = st.builds(
    Limit,
    name=st.just("test"),
    burst=st.integers(1, 30),
    per_second=st.sampled_from([0.1, 1 / 6, 0.5, 1.0, 2.0, 10.0, 100.0]),
    applies_to=st.just("tests"),
)
gaps = st.lists(st.integers(0, 3000), min_size=1, max_size=80)


def admitted_times(limit: Limit, times: list[int]) -> list[int]:
    tat: int | None = None
    admitted = []
    for now in times:
        admission = admit(limit, tat, now)
        if admission.admitted:
            tat = admission.tat_ms
            admitted.append(now)
    return admitted


@given(limits, gaps)
def test_no_window_admits_more_than_the_burst_plus_what_the_rate_refilled(
    limit: Limit, gaps_ms: list[int]
) -> None:
    times = list(accumulate(gaps_ms))
    admitted = admitted_times(limit, times)

    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            window = admitted[j] - start
            assert j - i + 1 <= limit.burst + window // limit.interval_ms


@given(limits, gaps)
def test_a_client_that_keeps_to_the_rate_is_never_refused(limit: Limit, gaps_ms: list[int]) -> None:
    times = list(accumulate(limit.interval_ms + gap for gap in gaps_ms))

    assert admitted_times(limit, times) == times


@given(limits, st.integers(0, 10**12))
def test_a_full_bucket_admits_its_burst_at_once_and_then_refuses(limit: Limit, now: int) -> None:
    at_once = [now] * (limit.burst + 1)

    assert len(admitted_times(limit, at_once)) == limit.burst


@given(limits, gaps)
def test_a_refused_request_is_admitted_once_its_retry_after_has_passed(
    limit: Limit, gaps_ms: list[int]
) -> None:
    tat: int | None = None
    now = 0
    for gap in gaps_ms:
        now += gap
        admission = admit(limit, tat, now)
        if not admission.admitted:
            assert admission.retry_after_ms > 0
            assert admission.tat_ms == tat  # a refusal takes nothing from the bucket
            assert admit(limit, tat, now + admission.retry_after_ms - 1).admitted is False
            assert admit(limit, tat, now + admission.retry_after_ms).admitted is True
        else:
            tat = admission.tat_ms
            assert kept_until_s(tat) * 1000 > tat  # the item outlives its bucket's TAT


def test_retry_after_in_whole_seconds_is_rounded_up_so_waiting_it_is_enough() -> None:
    assert [retry_after_seconds(ms) for ms in (1, 999, 1000, 1001, 5400)] == [1, 1, 1, 2, 6]


def test_every_input_but_pings_has_a_budget_and_typing_has_its_own() -> None:
    assert {action_of(kind) for kind in INPUTS} == set(BY_ACTION)
    assert BY_ACTION["typing"] is TYPING and BY_ACTION["send"] is MESSAGES
    assert len({limit.name for limit in LIMITS}) == len(LIMITS)


def test_a_user_over_a_limit_is_refused_with_how_long_to_wait() -> None:
    limiter = InMemoryRateLimiter(clock=lambda: 1_000_000)
    for _ in range(MESSAGES.burst):
        pace(limiter, "alice", "send")

    with pytest.raises(RateLimited) as refused:
        pace(limiter, "alice", "edit")

    assert refused.value.code == "rate_limited"
    assert refused.value.retry_after_ms == MESSAGES.interval_ms
    assert "at most 20 at once, then 1 a second" in refused.value.message


def test_a_limiter_that_cannot_keep_up_answers_busy_never_rate_limited() -> None:
    class Overwhelmed:
        def take(self, user: str, limit: Limit) -> Admission:
            raise Throttled(limit.name)

    with pytest.raises(Busy) as busy:
        pace(Overwhelmed(), "alice", "send")

    assert busy.value.code == "busy"  # not the user's doing: nothing tells them to slow down


def test_a_typist_never_slows_a_send_and_one_user_never_slows_another() -> None:
    limiter = InMemoryRateLimiter(clock=lambda: 5_000)
    for _ in range(TYPING.burst):
        pace(limiter, "alice", "typing")
    with pytest.raises(RateLimited):
        pace(limiter, "alice", "typing")

    pace(limiter, "alice", "send")
    for _ in range(TYPING.burst):
        pace(limiter, "bob", "typing")


def test_every_websocket_frame_counts_against_the_frame_budget() -> None:
    now = [0]
    limiter = InMemoryRateLimiter(clock=lambda: now[0])
    for _ in range(FRAMES.burst):
        pace_frame(limiter, "alice")
    with pytest.raises(RateLimited):
        pace_frame(limiter, "alice")

    now[0] += FRAMES.interval_ms
    pace_frame(limiter, "alice")

"""Per-user rate limits at the edge of every function that takes a user's requests: a request
over its limit is refused before anything is read or written."""

from __future__ import annotations

from application.ports import RateLimiter, Throttled
from application.service import Busy
from domain.errors import RateLimited
from domain.rate_limits import BY_ACTION, CONNECTIONS, FRAMES, Limit, retry_after_seconds


def pace(limiter: RateLimiter, user: str, action: str) -> None:
    """Draws on the limit of `action` (a `domain.commands` tag), if it has one."""
    limit = BY_ACTION.get(action)
    if limit is not None:
        take(limiter, user, limit)


def pace_frame(limiter: RateLimiter, user: str) -> None:
    """Every WebSocket frame counts, whatever it holds: a flood of pings or garbage costs an
    invocation each."""
    take(limiter, user, FRAMES)


def pace_connection(limiter: RateLimiter, user: str) -> None:
    """Each `$connect` kept costs a connections write and a place in every broadcast to the
    user: a loop of them is a flood like any other."""
    take(limiter, user, CONNECTIONS)


def take(limiter: RateLimiter, user: str, limit: Limit) -> None:
    try:
        admission = limiter.take(user, limit)
    except Throttled as throttled:  # the limits' table, not the user: like any busy store
        raise Busy("the service is busy; send it again") from throttled
    if not admission.admitted:
        raise RateLimited(
            f"too many requests ({limit.applies_to}): at most {limit.burst} at once, then "
            f"{describe_rate(limit.per_second)}; try again in "
            f"{retry_after_seconds(admission.retry_after_ms)} s",
            admission.retry_after_ms,
            limit.name,
        )


def describe_rate(per_second: float) -> str:
    if per_second >= 1:
        return f"{per_second:g} a second"
    return f"one every {round(1 / per_second):g} seconds"

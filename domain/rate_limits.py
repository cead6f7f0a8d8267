"""Per-user rate limits: how much of each kind of request one person may make, and when.

Each limit is a token bucket (`burst` requests at once, refilled at `per_second`), kept as the
generic cell rate algorithm keeps it: one number per user and limit, the *theoretical arrival
time* (TAT) of the next request if the user went on at exactly the limit's rate. A request at
`now` is admitted when TAT <= now + tolerance, where tolerance = (burst - 1) x interval, and moves
TAT to max(TAT, now) + interval. One number means one conditional write per request in DynamoDB
(adapters/rate_limits.py), which holds across every Lambda instance serving the same user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Limit:
    name: str  # the bucket's name, stored beside the user's id
    burst: int  # requests admitted at once from a full bucket
    per_second: float  # refill rate: the sustained rate a client can keep up forever
    applies_to: str  # what it counts, for the documents and the operations guide

    @property
    def interval_ms(self) -> int:
        """Milliseconds between two requests at the sustained rate."""
        return max(1, round(1000 / self.per_second))

    @property
    def tolerance_ms(self) -> int:
        """How far ahead of now the TAT may run and still admit a request."""
        return (self.burst - 1) * self.interval_ms


@dataclass(frozen=True)
class Admission:
    admitted: bool
    tat_ms: int  # the TAT after this request (unchanged when refused)
    retry_after_ms: int = 0  # when refused: the wait after which a request is admitted again


def admit(limit: Limit, tat_ms: int | None, now_ms: int) -> Admission:
    """Whether a request at `now_ms` is admitted, given the bucket's TAT (None: never used, or
    expired, which is the same as full)."""
    start = now_ms if tat_ms is None else max(tat_ms, now_ms)
    earliest = start - limit.tolerance_ms  # the first instant this request would be admitted
    if earliest > now_ms:
        return Admission(False, start, earliest - now_ms)
    return Admission(True, start + limit.interval_ms)


def retry_after_seconds(retry_after_ms: int) -> int:
    """HTTP's Retry-After is whole seconds: rounded up, so a client that waits it is admitted."""
    return max(1, math.ceil(retry_after_ms / 1000))


def kept_until_s(tat_ms: int) -> int:
    """When a bucket's item may go (DynamoDB's TTL, epoch seconds): once its TAT has passed, the
    bucket is full again, the same as no item."""
    return math.ceil(tat_ms / 1000) + 60


MESSAGES: Final = Limit(
    "messages", burst=20, per_second=1.0, applies_to="sending, editing and deleting messages"
)
ROOMS: Final = Limit(
    "rooms",
    burst=20,
    per_second=1 / 3,
    applies_to="creating rooms, opening DMs, inviting and leaving",
)
READ_MARKERS: Final = Limit(
    "read_markers", burst=30, per_second=2.0, applies_to="moving read markers"
)
TYPING: Final = Limit("typing", burst=3, per_second=0.5, applies_to="typing signals")
UPLOADS: Final = Limit("uploads", burst=10, per_second=1 / 6, applies_to="upload forms")
FRAMES: Final = Limit(
    "frames", burst=60, per_second=10.0, applies_to="every WebSocket frame, pings included"
)

CONNECTIONS: Final = Limit(
    "connections",
    burst=20,
    per_second=1 / 3,
    applies_to="opening WebSocket connections",
)

LIMITS: Final = (MESSAGES, ROOMS, READ_MARKERS, TYPING, UPLOADS, FRAMES, CONNECTIONS)

# Each action (a `domain.commands` tag) and the limit it draws on: typing has its own budget, so
# that a typist never slows a send.
BY_ACTION: Final[dict[str, Limit]] = {
    "send": MESSAGES,
    "edit": MESSAGES,
    "delete": MESSAGES,
    "create_room": ROOMS,
    "open_dm": ROOMS,
    "invite": ROOMS,
    "leave": ROOMS,
    "read": READ_MARKERS,
    "typing": TYPING,
    "upload": UPLOADS,
}

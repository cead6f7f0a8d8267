"""The local cloud's failure modes: what AWS does to a chat backend now and then, done here on
purpose so that the product is proven against it rather than against a gentler emulator.

- DynamoDB throttles a request (`ThrottlingException`, `ProvisionedThroughputExceededException`)
  and cancels a transaction that meets another on an item (`TransactionConflict`) or is throttled
  (`ThrottlingError`);
- an invocation from an event source fails before the function runs (a throttled or crashed
  instance), or after it ran (it timed out: its work is done, its answer lost), so the stream,
  queue or rule delivers the batch again;
- the bus delivers events out of order and sometimes twice;
- `@connections` answers 429 for a while to one connection, and a closed connection's
  `$disconnect` runs late, so posts to it meanwhile answer 410.

`make dev` runs without them (`make dev CHAOS=hostile` turns them on); the tests of delivery and
the soak run with `HOSTILE`. The stage hands DynamoDB's rates to its DynamoDB process."""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from local.whole_file import replace_whole

ENV = "CHAT_CHAOS"
STRUCK: Counter[str] = Counter()  # the failures played in this process, by kind


class InvocationFailed(RuntimeError):
    """What Lambda reports for an invocation that failed or timed out."""


@dataclass(frozen=True)
class Chaos:
    throttle: float = 0.0  # a DynamoDB request answered with a throttling error
    transaction_conflict: float = 0.0  # a TransactWriteItems cancelled by a conflict
    invoke_fails: float = 0.0  # an event source's invocation fails before the function runs
    invoke_lost: float = 0.0  # ... or times out after it ran
    bus_duplicate: float = 0.0  # the bus delivers an event a second time
    bus_jitter_s: float = 0.0  # each bus event waits up to this long, in no order
    connections_throttle: float = 0.0  # a connection refuses posts (429) for 1-3 s
    disconnect_delay_s: float = 0.0  # a closed connection's $disconnect runs up to this late

    @property
    def on(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def strikes(self, failure: str) -> bool:
        """Whether this failure (a field's name) happens now; each one that does is counted."""
        rate: float = getattr(self, failure)
        if rate > 0 and random.random() < rate:
            STRUCK[failure] += 1
            return True
        return False

    def invoking(self, invoke: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        """An event source's invoke, failing as Lambda's sometimes do."""
        if not (self.invoke_fails or self.invoke_lost):
            return invoke

        def invoke_unreliably(event: dict[str, Any]) -> Any:
            if self.strikes("invoke_fails"):
                raise InvocationFailed("Rate Exceeded. (TooManyRequestsException)")
            answer = invoke(event)
            if self.strikes("invoke_lost"):
                raise InvocationFailed("Task timed out (it ran; its answer is lost)")
            return answer

        return invoke_unreliably


OFF = Chaos()
# Rare enough that a retry budget (boto3's five attempts, a mapping's retries) is never used up,
# frequent enough that a few hundred messages meet every one of them.
HOSTILE = Chaos(
    throttle=0.03,
    transaction_conflict=0.05,
    invoke_fails=0.02,
    invoke_lost=0.02,
    bus_duplicate=0.2,
    bus_jitter_s=0.2,
    connections_throttle=0.005,
    disconnect_delay_s=1.0,
)
NAMED = {"off": OFF, "hostile": HOSTILE}


def named(name: str) -> Chaos:
    try:
        return NAMED[name]
    except KeyError:
        raise ValueError(f"{ENV} is one of {', '.join(NAMED)}, not {name!r}") from None


def from_environment() -> Chaos:
    return named(os.environ.get(ENV, "off") or "off")


def save_struck(path: Path) -> None:
    """What this process has played so far, for whoever watches a stage run in a process of its
    own (bench/soak.py); replaced whole, so a kill never leaves half a file."""
    replace_whole(path, json.dumps(dict(STRUCK)))


def load_struck(path: Path) -> Counter[str]:
    try:
        return Counter(json.loads(path.read_text()))
    except FileNotFoundError:
        return Counter()

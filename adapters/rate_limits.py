"""Per-user rate limits in DynamoDB: one item per user and limit (pk `user#<id>`, sk the limit's
name) holding the bucket's TAT (domain/rate_limits.py), moved by conditional writes so that
every Lambda instance serving the user draws on the same bucket.

A request costs one write when the bucket had room at its full rate (the TAT was behind now), two
when it is admitted from the burst (the first write's condition fails and hands back the TAT),
and one when refused. A write that loses a race to another instance reads the TAT again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Final

from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from adapters.aws import client
from application.ports import Throttled
from domain.rate_limits import Admission, Limit, admit, kept_until_s

# Each lost race means another request of the user was admitted, so a burst's worth of them
# ends in a refusal by the bucket itself; these are for races with refills on top.
EXTRA_ATTEMPTS: Final = 5
THROTTLED: Final = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
# A throttled write is tried again here, within milliseconds (botocore's own retries would wait
# seconds, and the quick client makes none).
THROTTLED_ATTEMPTS: Final = 4


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class _Moved(Exception):
    """The bucket's TAT was not what the write assumed: here is the one the item holds."""

    def __init__(self, tat_ms: int | None) -> None:
        super().__init__(tat_ms)
        self.tat_ms = tat_ms


class DynamoRateLimiter:
    def __init__(self, table: str, dynamodb: Any = None, clock: Callable[[], int] = now_ms) -> None:
        self.table = table
        # A budget check answers fast or not at all: the caller then answers busy.
        self.dynamodb = dynamodb or client("dynamodb", quick=True)
        self.clock = clock

    def take(self, user: str, limit: Limit) -> Admission:
        """One request from the user's bucket of `limit`, admitted or refused."""
        key = {"pk": {"S": "user#" + user}, "sk": {"S": limit.name}}
        now = self.clock()
        held: int | None = None  # not read: most requests find the TAT behind now
        try:
            for _ in range(limit.burst + EXTRA_ATTEMPTS):
                admission = admit(limit, held, now)
                if not admission.admitted:
                    return admission
                try:
                    self._set(key, admission.tat_ms, held, now)
                except _Moved as moved:
                    held = moved.tat_ms
                else:
                    return admission
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in THROTTLED:
                raise Throttled(limit.name) from error
            raise  # fail closed: a request whose budget cannot be read is not taken
        except (ConnectTimeoutError, ReadTimeoutError) as slow:
            raise Throttled(limit.name) from slow
        raise Throttled(limit.name)  # racing the user's other requests on every attempt

    def _set(self, key: dict[str, Any], tat_ms: int, held: int | None, now: int) -> None:
        """Moves the TAT to `tat_ms` if it is still `held` (None: still behind now)."""
        condition, bound = (
            ("attribute_not_exists(tat) OR tat <= :bound", now)
            if held is None
            else ("tat = :bound", held)
        )
        try:
            self._update(
                TableName=self.table,
                Key=key,
                UpdateExpression="SET tat = :tat, expires_at = :expires",
                ConditionExpression=condition,
                ExpressionAttributeValues={
                    ":tat": {"N": str(tat_ms)},
                    ":expires": {"N": str(kept_until_s(tat_ms))},
                    ":bound": {"N": str(bound)},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            tat = error.response.get("Item", {}).get("tat", {}).get("N")
            raise _Moved(int(tat) if tat is not None else None) from error

    def _update(self, **request: Any) -> None:
        for attempt in range(THROTTLED_ATTEMPTS):
            try:
                self.dynamodb.update_item(**request)
                return
            except ClientError as error:
                throttled = error.response.get("Error", {}).get("Code") in THROTTLED
                if not throttled or attempt == THROTTLED_ATTEMPTS - 1:
                    raise
            time.sleep(random.random() * 0.01 * 2**attempt)

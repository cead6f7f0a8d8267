"""Per-user rate limits in DynamoDB (moto over HTTP): the buckets the domain defines, shared by
every instance, and never more admitted than the budget however the requests race."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from adapters.aws import client
from adapters.rate_limits import THROTTLED_ATTEMPTS, DynamoRateLimiter
from application.memory import InMemoryRateLimiter
from application.ports import Throttled
from domain.rate_limits import Limit, kept_until_s
from local.provision import Stage

LIMIT = Limit("test", burst=5, per_second=2.0, applies_to="tests")


def limiter(stage: Stage, clock: list[int]) -> DynamoRateLimiter:
    return DynamoRateLimiter(stage.tables["rate-limits"], client("dynamodb"), lambda: clock[0])


def test_the_table_admits_and_refuses_exactly_as_the_domain_s_buckets_do(stage: Stage) -> None:
    clock = [1_000_000]
    dynamo, memory = limiter(stage, clock), InMemoryRateLimiter(lambda: clock[0])
    steps = [0, 0, 0, 100, 0, 0, 0, 0, 499, 1, 0, 2000, 0, 0, 0, 0, 0, 0, 5000, 0]

    for step in steps:
        clock[0] += step
        assert dynamo.take("alice", LIMIT) == memory.take("alice", LIMIT), clock[0]


def test_racing_instances_never_admit_more_than_the_burst(stage: Stage) -> None:
    clock = [2_000_000]  # the same instant for every request: only the burst may pass
    instances = [limiter(stage, clock) for _ in range(4)]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: instances[i % 4].take("bob", LIMIT), range(24)))

    assert sum(answer.admitted for answer in answers) == LIMIT.burst
    assert all(answer.retry_after_ms > 0 for answer in answers if not answer.admitted)


def test_a_bucket_is_one_item_per_user_and_limit_that_expires_once_full_again(
    stage: Stage,
) -> None:
    clock = [3_000_000]
    admitted = limiter(stage, clock).take("carol", LIMIT)

    item = client("dynamodb").get_item(
        TableName=stage.tables["rate-limits"], Key={"pk": {"S": "user#carol"}, "sk": {"S": "test"}}
    )["Item"]
    assert item["tat"] == {"N": str(admitted.tat_ms)}
    assert item["expires_at"] == {"N": str(kept_until_s(admitted.tat_ms))}
    assert limiter(stage, clock).take("dave", LIMIT).admitted  # carol's bucket is hers alone


def test_a_throttled_table_is_the_service_being_busy_not_the_user_over_a_limit(
    stage: Stage,
) -> None:
    class ThrottledTable:
        calls = 0

        def update_item(self, **_: object) -> None:
            self.calls += 1
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "UpdateItem",
            )

    table = ThrottledTable()
    with pytest.raises(Throttled):
        DynamoRateLimiter(stage.tables["rate-limits"], table).take("erin", LIMIT)
    assert table.calls == THROTTLED_ATTEMPTS  # tried again within milliseconds, then busy


def test_a_limits_table_too_slow_to_answer_is_the_service_being_busy(stage: Stage) -> None:
    class SlowTable:
        def update_item(self, **_: object) -> None:
            raise ReadTimeoutError(endpoint_url="http://127.0.0.1")

    with pytest.raises(Throttled):
        DynamoRateLimiter(stage.tables["rate-limits"], SlowTable()).take("frank", LIMIT)
    quick = DynamoRateLimiter(stage.tables["rate-limits"]).dynamodb.meta.config
    assert quick.retries["total_max_attempts"] == 1 and quick.read_timeout <= 2  # in 5 s

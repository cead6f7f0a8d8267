"""The local stage runs functions as Lambda does: one invocation per instance at a time, each
instance with module state of its own, and more instances when all are busy."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from local.lambdas import Lambdas

STATEFUL = "tests.unit.fixtures.stateful_handler.lambda_handler"


def test_concurrent_invocations_never_share_an_instance() -> None:
    lambdas = Lambdas({"stateful": STATEFUL})

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda n: lambdas.call("stateful", {"n": n}), range(12)))

    assert [answer["answered"] for answer in answers] == list(range(12))
    assert 1 < lambdas.instances["stateful"] <= 4


def test_an_idle_instance_is_reused_rather_than_started_again() -> None:
    lambdas = Lambdas({"stateful": STATEFUL})

    for n in range(3):
        lambdas.call("stateful", {"n": n})

    assert lambdas.instances["stateful"] == 1

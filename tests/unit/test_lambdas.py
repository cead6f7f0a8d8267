"""The local stage runs functions as Lambda does: one invocation per instance at a time, each
instance with module state of its own, and more instances when all are busy."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local.events import http_event
from local.lambdas import FunctionLogs, Lambdas, cold_start
from local.moto_process import ROOT

STATEFUL = "tests.unit.fixtures.stateful_handler.lambda_handler"


def test_concurrent_invocations_never_share_an_instance() -> None:
    lambdas = Lambdas({"stateful": STATEFUL})

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda n: lambdas.call("stateful", {"n": n}), range(12)))

    assert [answer["answered"] for answer in answers] == list(range(12))
    assert 1 < lambdas.instances["stateful"] <= 4


def test_concurrent_http_api_invocations_each_resolve_their_own_event() -> None:
    # Powertools keeps the event being resolved on a class that every instance shares.
    lambdas = Lambdas({"resolver": "tests.unit.fixtures.resolver_handler.lambda_handler"})

    def ask(n: int) -> dict[str, Any]:
        event = http_event("GET", "/whoami", "GET /whoami", {}, f"n={n}", {}, None, "::1")
        answer: dict[str, Any] = json.loads(lambdas.call("resolver", event)["body"])
        return answer

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(ask, range(16)))

    assert [(a["asked"], a["answered"]) for a in answers] == [(str(n), str(n)) for n in range(16)]


def test_an_idle_instance_is_reused_rather_than_started_again() -> None:
    lambdas = Lambdas({"stateful": STATEFUL})

    for n in range(3):
        lambdas.call("stateful", {"n": n})

    assert lambdas.instances["stateful"] == 1


def test_every_topology_function_starts_cold_in_a_fresh_interpreter() -> None:
    # A fresh interpreter: no handler module imported before, as on a Lambda instance.
    script = (
        "from components.topology import FUNCTIONS\n"
        "from local.lambdas import cold_start\n"
        "for function in FUNCTIONS:\n"
        "    assert callable(cold_start(function.handler)), function.name\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr


def test_what_a_function_prints_goes_to_its_own_log_and_the_rest_to_the_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = io.StringIO()
    logs = FunctionLogs(console, tmp_path)
    monkeypatch.setattr(sys, "stdout", logs)
    lambdas = Lambdas({"printer": "tests.unit.fixtures.printing_handler.lambda_handler"})

    lambdas.call("printer", {"n": 1})
    print("the stage itself")
    lambdas.call("printer", {"n": 2})
    logs.close()

    assert (tmp_path / "printer.log").read_text() == "handled 1\nhandled 2\n"
    assert console.getvalue() == "the stage itself\n"


def test_instances_of_a_function_keep_their_metrics_apart() -> None:
    handler = "functions.broadcaster.handler.lambda_handler"
    first, second = (sys.modules[cold_start(handler).__module__] for _ in range(2))

    first.metrics.add_metric(name="FramesSent", unit="Count", value=1)

    assert "FramesSent" in first.metrics.metric_set
    assert second.metrics.metric_set == {}


def test_instances_of_a_function_keep_their_log_keys_apart() -> None:
    handler = "functions.broadcaster.handler.lambda_handler"
    first, second = (sys.modules[cold_start(handler).__module__] for _ in range(2))

    first.logger.append_keys(function_request_id="first-request")

    assert first.logger.get_current_keys().get("function_request_id") == "first-request"
    assert "function_request_id" not in second.logger.get_current_keys()
    assert first.logger.service == second.logger.service == "broadcaster"

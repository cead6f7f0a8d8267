"""The HTTP API fuzzed from its own OpenAPI document (schemathesis), on a fresh local stage: no
answer is a 5xx, and every refusal is in the documented shape `{"error": {"code", "message"}}`,
signed in or not, and so is the answer to a path or method outside the document. Only a body over
API Gateway's 10 MB quota is refused by the gateway itself (`{"message"}`), which no example
sends. Bounded, and derandomized like every property test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from local.stage import LocalStage
from tests.e2e.support import token

EXAMPLES_PER_OPERATION = 15
PASSWORD = "Fuzz-password-1"


@pytest.fixture(scope="module")
def stage() -> Iterator[LocalStage]:
    with LocalStage(prefix="fuzz") as running:
        yield running


def operations(stage: LocalStage) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{stage.base}/api/openapi.json")
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the document itself is valid
        found.append(result.ok())
    return found


def documented_refusal(response: requests.Response) -> bool:
    try:
        answer = response.json()
    except ValueError:
        return False
    error = answer.get("error") if isinstance(answer, dict) else None
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    )


def fuzzed(stage: LocalStage, operation: Any, headers: dict[str, str]) -> list[str]:
    """What one operation's examples got that they must not: a 5xx, a 429 (the examples stay
    within one person's rate limits), or a refusal outside the documented shape."""
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def fuzz(case: Any) -> None:
        response = case.call(base_url=f"{stage.base}/api", headers=headers, timeout=30)
        if (
            response.status_code >= 500
            or response.status_code == 429
            or (response.status_code >= 400 and not documented_refusal(response))
        ):
            answer = f"{response.status_code}: {response.text[:200]}"
            failures.append(f"{case.method} {case.formatted_path} -> {answer}")

    fuzz()
    return failures


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
def test_no_request_the_document_allows_gets_a_5xx_and_every_refusal_is_documented(
    stage: LocalStage, signed_in: bool
) -> None:
    failures: list[str] = []
    for number, operation in enumerate(operations(stage)):
        headers: dict[str, str] = {}
        if signed_in:
            # A person of its own for each operation, so that the handlers are fuzzed rather
            # than one person's rate limits.
            user = f"fuzz{number}"
            stage.add_user(user, PASSWORD)
            headers["Authorization"] = f"Bearer {token(stage, user, PASSWORD)}"
        failures += fuzzed(stage, operation, headers)
    assert failures == []


@pytest.mark.parametrize(
    ("method", "path", "signed_in", "status", "code"),
    [
        ("GET", "/rooms", False, 401, "unauthorized"),
        ("POST", "/rooms/r1/messages", False, 401, "unauthorized"),
        ("GET", "/nowhere", False, 401, "unauthorized"),
        ("GET", "/nowhere", True, 404, "not_found"),
        ("PUT", "/rooms", True, 404, "not_found"),
        ("GET", "/rooms/%0A/messages", True, 404, "not_found"),
    ],
)
def test_what_api_gateway_would_answer_itself_is_answered_in_the_documented_shape(
    stage: LocalStage, method: str, path: str, signed_in: bool, status: int, code: str
) -> None:
    headers: dict[str, str] = {}
    if signed_in:
        user = f"wanderer-{method.lower()}-{status}-{len(path)}"
        stage.add_user(user, PASSWORD)
        headers["Authorization"] = f"Bearer {token(stage, user, PASSWORD)}"

    answer = requests.request(method, f"{stage.base}/api{path}", headers=headers, timeout=10)

    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert answer.json()["error"]["message"]

"""The HTTP API fuzzed from its own OpenAPI document (schemathesis), on a fresh local stage: no
answer is a 5xx, and every refusal the functions make is in the documented shape
`{"error": {"code", "message"}}`. The gateway's own 401, 404 and 413 are still API Gateway's
`{"message"}` (an HTTP API cannot reshape them: that needs a `$default` route and the token
checked in the function; issue 12 keeps it). Bounded, and derandomized like every property test."""

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


GATEWAYS_OWN = {401: "Unauthorized", 404: "Not Found", 413: "Request Entity Too Large"}


def documented_refusal(response: requests.Response) -> bool:
    try:
        answer = response.json()
    except ValueError:
        return False
    if answer == {"message": GATEWAYS_OWN.get(response.status_code)}:
        return True
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

"""The local HTTP API (API Gateway): route matching from the topology and its `$default` route,
the 10 MB quota, the payload-2.0 event and a failing integration, over fake functions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from starlette.applications import Starlette
from starlette.routing import Route

from components.topology import HTTP_DEFAULT_FUNCTION
from local import http_api
from local.http_api import HttpApi, match_route
from tests.unit.local_support import FakeLambdas, fail, serving

FUNCTION = "http-api"
METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT"]


def answered(_: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 201, "headers": {"x-answer": "yes"}, "body": '{"ok":true}'}


class Api:
    def __init__(self, answer: Any = answered) -> None:
        self.lambdas = FakeLambdas({FUNCTION: answer})
        self.invoked = 0
        self.api = HttpApi(self.lambdas, self.count)  # type: ignore[arg-type]
        self.app = Starlette(routes=[Route("/api/{path:path}", self.api.handle, methods=METHODS)])
        self.base = ""

    def count(self) -> None:
        self.invoked += 1


@pytest.fixture
def api() -> Iterator[Api]:
    api = Api()
    with serving(api.app) as host:
        api.base = f"http://{host}/api"
        yield api


def test_a_route_is_matched_on_method_and_path_with_its_parameters() -> None:
    assert match_route("PATCH", "/rooms/r1/messages/7") == (
        "PATCH /rooms/{room_id}/messages/{seq}",
        FUNCTION,
        {"room_id": "r1", "seq": "7"},
    )


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/rooms/r1/messages/7"), ("GET", "/rooms/r1/messages/7/more")]
)
def test_a_request_no_route_takes_goes_to_the_default_route(method: str, path: str) -> None:
    assert match_route(method, path) == ("$default", HTTP_DEFAULT_FUNCTION, {})


def test_a_request_matching_no_route_reaches_the_default_routes_function(api: Api) -> None:
    response = requests.get(f"{api.base}/nowhere", timeout=5)

    assert response.status_code == 201
    (event,) = api.lambdas.events(HTTP_DEFAULT_FUNCTION)
    assert event["routeKey"] == "$default" and event["rawPath"] == "/nowhere"
    assert event["pathParameters"] is None


def test_the_function_gets_a_payload_2_event_with_the_bearer_token_and_no_authorizer(
    api: Api,
) -> None:
    response = requests.patch(
        f"{api.base}/rooms/r1/messages/7?mode=quiet",
        data='{"text": "hi"}',
        headers={"Authorization": "Bearer t0ken"},
        timeout=5,
    )

    assert response.status_code == 201
    assert response.headers["x-answer"] == "yes" and response.json() == {"ok": True}
    (event,) = api.lambdas.events(FUNCTION)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "PATCH /rooms/{room_id}/messages/{seq}"
    assert event["rawPath"] == "/rooms/r1/messages/7"
    assert event["pathParameters"] == {"room_id": "r1", "seq": "7"}
    assert event["queryStringParameters"] == {"mode": "quiet"}
    assert event["body"] == '{"text": "hi"}'
    assert event["requestContext"]["http"]["method"] == "PATCH"
    assert event["headers"]["authorization"] == "Bearer t0ken"
    # No gateway authorizer: the function verifies the token itself.
    assert "authorizer" not in event["requestContext"]
    assert api.invoked == 1  # the pumps are woken: the function may have written


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_body_over_the_quota_is_refused_before_the_function_runs(
    api: Api, monkeypatch: pytest.MonkeyPatch, chunked: bool
) -> None:
    monkeypatch.setattr(http_api, "MAX_HTTP_BODY_BYTES", 100)
    headers = {"Authorization": "Bearer t0ken"}
    body = b"x" * 101
    data: Any = iter([body[:50], body[50:]]) if chunked else body

    refused = requests.post(f"{api.base}/rooms", data=data, headers=headers, timeout=5)
    within = requests.post(f"{api.base}/rooms", data=body[:100], headers=headers, timeout=5)

    assert (refused.status_code, refused.json()) == (413, {"message": "Request Entity Too Large"})
    assert within.status_code == 201
    assert len(api.lambdas.calls) == 1


def test_a_failing_integration_answers_500_and_still_counts_as_invoked() -> None:
    api = Api(answer=fail)
    with serving(api.app) as host:
        response = requests.get(f"http://{host}/api/openapi.json", timeout=5)

    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})
    assert api.invoked == 1

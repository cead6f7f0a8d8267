"""The local stage hands functions events of the exact AWS shapes: every key of each sample in
shared/aws-events is present, with a value of the same JSON type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local.events import http_event, ws_authorizer_event, ws_event

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "aws-events"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((SAMPLES / name).read_text()))


# Maps whose keys depend on the request (which headers, which claims): only their kind must match.
FREE_FORM = {"headers", "multiValueHeaders", "queryStringParameters", "pathParameters", "claims",
             "multiValueQueryStringParameters", "stageVariables"}  # fmt: skip


def missing(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where `actual` lacks a key of `expected`, or holds another kind of value."""
    if path.rsplit(".", 1)[-1] in FREE_FORM:
        return [] if isinstance(actual, dict) else [f"{path}: not an object"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: not an object"]
        gaps = []
        for key, value in expected.items():
            if key not in actual:
                gaps.append(f"{path}.{key}: missing")
            elif value is not None and actual[key] is not None:
                gaps.extend(missing(value, actual[key], f"{path}.{key}"))
        return gaps
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if type(expected) is type(actual) else [f"{path}: {actual!r} is not a bool"]
    if isinstance(expected, int | float):
        return [] if isinstance(actual, int | float) else [f"{path}: {actual!r} is not a number"]
    if isinstance(expected, str):
        return [] if isinstance(actual, str) else [f"{path}: {actual!r} is not a string"]
    return []  # lists: shapes vary with content


HTTP = http_event(
    "POST", "/rooms/r1/messages", "POST /rooms/{room_id}/messages", {"room_id": "r1"},
    "a=1", {"user-agent": "test"}, '{"text": "hi"}', "127.0.0.1",
)  # fmt: skip
AUTHORIZER = {"principalId": "alice", "user_id": "alice"}


@pytest.mark.parametrize(
    ("name", "event", "ignored"),
    [
        # AWS leaves cookies and stage variables out when a request has none, and the sample's
        # route has a JWT authorizer, which no route of this API has.
        ("http-api-v2-jwt.json", HTTP,
         {"$.cookies", "$.stageVariables", "$.requestContext.authorizer"}),
        ("websocket-authorizer-request.json", ws_authorizer_event({"token": "t"}, {}, "c1"), set()),
        ("websocket-connect.json", ws_event("$connect", "CONNECT", "c1", 1, AUTHORIZER), set()),
        ("websocket-disconnect.json", ws_event("$disconnect", "DISCONNECT", "c1", 1, AUTHORIZER),
         set()),
        ("websocket-message.json", ws_event("send", "MESSAGE", "c1", 1, AUTHORIZER, "{}"), set()),
    ],
)  # fmt: skip
def test_a_generated_event_has_every_field_of_the_aws_sample(
    name: str, event: dict[str, Any], ignored: set[str]
) -> None:
    gaps = [gap for gap in missing(sample(name), event) if gap.split(":")[0] not in ignored]

    assert gaps == []

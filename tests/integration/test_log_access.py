"""The functions that append to the log do nothing to it that their roles' "append" access would
refuse on AWS (the local stage does not enforce IAM, so the calls themselves are checked): every
call a conversation makes on the events table, over HTTP and the WebSocket, is recorded and
mapped to the IAM action AWS checks it as."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.aws import client
from components.policies import TABLE_ACTIONS
from components.topology import EVENTS
from local.provision import Stage
from tests.integration.http_calls import call
from tests.integration.test_ws_messages import frame

# TransactWriteItems is checked per item as the action of its kind.
TRANSACT_KINDS = {
    "Put": "dynamodb:PutItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Update": "dynamodb:UpdateItem",
}


def checked_as(table: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(IAM action, partition key or "") of each thing a call does to `table`."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in params["TransactItems"]:
            ((kind, body),) = item.items()
            if body["TableName"] == table:
                key = body.get("Item") or body.get("Key") or {}
                action = "dynamodb:GetItem" if kind == "Get" else TRANSACT_KINDS[kind]
                found.append((action, key.get("pk", {}).get("S", "")))
        return found
    if operation == "BatchGetItem":
        return [("dynamodb:BatchGetItem", "")] if table in params["RequestItems"] else []
    if params.get("TableName") == table:
        return [(f"dynamodb:{operation}", params.get("Key", {}).get("pk", {}).get("S", ""))]
    return []


def done(method: str, path: str, **kwargs: Any) -> Any:
    status, answer = call(method, path, **kwargs)
    assert status < 300, (method, path, answer)
    return answer


@pytest.fixture
def recorded(stage: Stage, signed_http: None) -> Iterator[list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []
    table = stage.tables[EVENTS.name]

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.extend(checked_as(table, model.name, params))

    events = client("dynamodb").meta.events
    events.register("before-parameter-build.dynamodb", record, unique_id="log-access")
    yield calls
    events.unregister("before-parameter-build.dynamodb", unique_id="log-access")


def test_a_whole_conversation_does_to_the_log_only_what_append_access_allows(
    recorded: list[tuple[str, str]],
) -> None:
    room = done("POST", "/rooms", body={"name": "Team", "members": ["bob", "carol"]})["room_id"]
    done("POST", f"/rooms/{room}/messages", body={"text": "hi", "client_id": "c1"})
    done("POST", f"/rooms/{room}/messages", body={"text": "hi", "client_id": "c1"})  # a resend
    done("PATCH", f"/rooms/{room}/messages/2", body={"text": "hello"})
    done("DELETE", f"/rooms/{room}/messages/2")
    done("POST", f"/rooms/{room}/read", body={"seq": 2})
    done("POST", f"/rooms/{room}/members", body={"user_id": "dave"})
    done("DELETE", f"/rooms/{room}/members/me", user="carol")
    done("POST", "/dms", body={"peer": "bob"})
    upload = {"name": "a.png", "content_type": "image/png", "size": 10}
    done("POST", f"/rooms/{room}/uploads", body=upload)
    done("GET", f"/rooms/{room}/events", query="after=0")
    assert (
        frame("bob", {"action": "send", "room_id": room, "text": "yo", "client_id": "w1"})["type"]
        == "ack"
    )
    assert frame("bob", {"action": "typing", "room_id": room}) == {}
    assert frame("bob", {"action": "read", "room_id": room, "seq": 3})["type"] == "ack"

    allowed = set(TABLE_ACTIONS["append"])
    refused = [
        (action, key)
        for action, key in recorded
        if action not in allowed
        and not (action == "dynamodb:DeleteItem" and key.startswith(EVENTS.deletable_key_prefixes))
    ]
    assert refused == []
    assert {"dynamodb:PutItem", "dynamodb:DeleteItem"} <= {action for action, _ in recorded}

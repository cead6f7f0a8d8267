"""The WebSocket $connect authorizer and connection keeper, given events of the AWS shapes."""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.aws import client
from adapters.connections import DynamoConnections
from adapters.rate_limits import DynamoRateLimiter
from adapters.tokens import verifier_from_environment
from domain.rate_limits import CONNECTIONS
from functions.ws import authorizer, connections
from functions.ws.handshake import SUBPROTOCOL, TOKEN_PREFIX
from local.provision import Stage
from tests.integration.pools import Pool

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "aws-events"


def sample(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((SAMPLES / name).read_text()))


def authorize(token: str | None) -> dict[str, Any]:
    event = sample("websocket-authorizer-request.json")
    event["queryStringParameters"] = {"token": token} if token is not None else {}
    return authorizer.handle(event, verifier_from_environment())


def test_a_signed_in_user_may_connect_and_is_named_to_later_routes(configured_pool: Pool) -> None:
    answer = authorize(configured_pool.tokens["IdToken"])

    assert answer["principalId"] == "alice"
    assert answer["context"] == {"user_id": "alice"}
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == sample("websocket-authorizer-request.json")["methodArn"]


def test_the_token_may_come_as_a_subprotocol_and_wins_over_the_query(configured_pool: Pool) -> None:
    event = sample("websocket-authorizer-request.json")
    event["headers"]["Sec-WebSocket-Protocol"] = (
        f"{SUBPROTOCOL}, {TOKEN_PREFIX}{configured_pool.tokens['IdToken']}"
    )
    event["queryStringParameters"] = {"token": "forged.token.here"}

    assert authorizer.handle(event, verifier_from_environment())["principalId"] == "alice"

    event["headers"]["Sec-WebSocket-Protocol"] = f"{SUBPROTOCOL}, {TOKEN_PREFIX}forged.token.here"
    event["queryStringParameters"] = {"token": configured_pool.tokens["IdToken"]}
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handle(event, verifier_from_environment())


@pytest.mark.parametrize("token", [None, "", "forged.token.here"])
def test_a_connection_without_a_valid_token_is_unauthorized(
    configured_pool: Pool, token: str | None
) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(token)


def test_connecting_and_disconnecting_keep_the_connections_table(stage: Stage) -> None:
    deps = connections.from_environment()
    store = deps.connections
    connect = sample("websocket-connect.json")
    connect["requestContext"]["authorizer"] = {"user_id": "alice", "principalId": "alice"}
    connect["requestContext"]["connectedAt"] = int(1000 * time.time())
    connection_id = connect["requestContext"]["connectionId"]

    assert connections.handle(connect, deps) == {"statusCode": 200, "headers": {}}
    assert store.of_user("alice") == [connection_id]
    connect["headers"]["Sec-WebSocket-Protocol"] = f"{SUBPROTOCOL}, {TOKEN_PREFIX}a.b.c"
    chosen = connections.handle(connect, deps)["headers"]
    assert chosen == {"Sec-WebSocket-Protocol": SUBPROTOCOL}  # the chat's own, never the token

    disconnect = sample("websocket-disconnect.json")
    disconnect["requestContext"]["authorizer"] = {"user_id": "alice"}
    disconnect["requestContext"]["connectionId"] = connection_id
    assert connections.handle(disconnect, deps)["statusCode"] == 200
    assert store.of_user("alice") == []


def test_forgetting_a_connection_of_an_expired_item_leaves_nothing_behind(stage: Stage) -> None:
    store = DynamoConnections(stage.tables["connections"], client("dynamodb"))

    store.remove("nobody", "conn-1")  # e.g. a 410 found after TTL removed the user's item

    assert client("dynamodb").scan(TableName=stage.tables["connections"])["Items"] == []


def test_a_connection_event_without_an_authorized_user_is_refused(stage: Stage) -> None:
    answer = connections.handle(sample("websocket-connect.json"), connections.from_environment())

    assert answer["statusCode"] == 401


def test_a_loop_of_connections_is_refused_past_the_user_s_budget_and_nothing_is_kept(
    stage: Stage,
) -> None:
    at_one_instant = DynamoRateLimiter(stage.tables["rate-limits"], clock=lambda: 10**12)
    deps = dataclasses.replace(connections.from_environment(), limits=at_one_instant)
    connect = sample("websocket-connect.json")
    connect["requestContext"]["authorizer"] = {"user_id": "mallory", "principalId": "mallory"}
    connect["requestContext"]["connectedAt"] = int(1000 * time.time())
    answers = []
    for number in range(CONNECTIONS.burst + 2):
        connect["requestContext"]["connectionId"] = f"conn-{number}"
        answers.append(connections.handle(connect, deps)["statusCode"])

    assert answers == [200] * CONNECTIONS.burst + [429] * 2
    assert len(deps.connections.of_user("mallory")) == CONNECTIONS.burst

"""WebSocket $connect / $disconnect: remember and forget the caller's connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.aws import table_name
from adapters.connections import DynamoConnections
from adapters.rate_limits import DynamoRateLimiter
from application.pacing import pace_connection
from application.ports import RateLimiter
from domain.errors import DomainError
from functions.composition import Root
from functions.ws.handshake import accepted

logger = Logger(service="ws-connections")


@dataclass(frozen=True)
class Deps:
    connections: DynamoConnections
    limits: RateLimiter


def from_environment() -> Deps:
    return Deps(
        DynamoConnections(table_name("CONNECTIONS_TABLE")),
        DynamoRateLimiter(table_name("RATE_LIMITS_TABLE")),
    )


root = Root(from_environment)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, root())


def handle(event: dict[str, Any], deps: Deps) -> dict[str, Any]:
    request = event["requestContext"]
    user_id = (request.get("authorizer") or {}).get("user_id")
    if not user_id:
        return {"statusCode": 401, "body": "no authorized user"}
    if request["eventType"] == "CONNECT":
        try:
            pace_connection(deps.limits, user_id)
        except DomainError as refused:  # rate_limited, or busy: the handshake fails, retried later
            logger.info("connection refused", code=refused.code, user_id=user_id)
            return {"statusCode": 429, "body": refused.message}
        deps.connections.add(user_id, request["connectionId"], int(request["connectedAt"]))
        return {"statusCode": 200, "headers": accepted(event.get("headers"))}
    if request["eventType"] == "DISCONNECT":
        deps.connections.remove(user_id, request["connectionId"])
    return {"statusCode": 200}

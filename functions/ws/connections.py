"""WebSocket $connect / $disconnect: remember and forget the caller's connection."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.aws import table_name
from adapters.connections import DynamoConnections
from functions.composition import Root
from functions.ws.handshake import accepted

logger = Logger(service="ws-connections")


def from_environment() -> DynamoConnections:
    return DynamoConnections(table_name("CONNECTIONS_TABLE"))


root = Root(from_environment)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, root())


def handle(event: dict[str, Any], connections: DynamoConnections) -> dict[str, Any]:
    request = event["requestContext"]
    user_id = (request.get("authorizer") or {}).get("user_id")
    if not user_id:
        return {"statusCode": 401, "body": "no authorized user"}
    if request["eventType"] == "CONNECT":
        connections.add(user_id, request["connectionId"], int(request["connectedAt"]))
        return {"statusCode": 200, "headers": accepted(event.get("headers"))}
    if request["eventType"] == "DISCONNECT":
        connections.remove(user_id, request["connectionId"])
    return {"statusCode": 200}

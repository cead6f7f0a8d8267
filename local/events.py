"""Builds the events API Gateway hands to Lambda, in the shapes of shared/aws-events."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

API_ID = "local"
STAGE = "local"
ACCOUNT = "123456789012"


def _now() -> tuple[str, int]:
    epoch_ms = int(time.time() * 1000)
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000)), epoch_ms


def http_event(
    method: str,
    path: str,
    route: str,
    path_parameters: dict[str, str],
    raw_query: str,
    headers: dict[str, str],
    body: str | None,
    source_ip: str,
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event of a route without an authorizer."""
    when, epoch_ms = _now()
    query = dict(parse_qsl(raw_query, keep_blank_values=True))
    context: dict[str, Any] = {
        "accountId": ACCOUNT,
        "apiId": API_ID,
        "domainName": "127.0.0.1",
        "domainPrefix": API_ID,
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": uuid.uuid4().hex,
        "routeKey": route,
        "stage": "$default",
        "time": when,
        "timeEpoch": epoch_ms,
    }
    return {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "queryStringParameters": query or None,
        "requestContext": context,
        "pathParameters": path_parameters or None,
        "body": body,
        "isBase64Encoded": False,
    }


def _ws_context(
    route: str, event_type: str, connection_id: str, connected_at: int
) -> dict[str, Any]:
    when, epoch_ms = _now()
    return {
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": uuid.uuid4().hex,
        "requestTime": when,
        "messageDirection": "IN",
        "stage": STAGE,
        "connectedAt": connected_at,
        "requestTimeEpoch": epoch_ms,
        "identity": {"sourceIp": "127.0.0.1"},
        "requestId": uuid.uuid4().hex,
        "domainName": "127.0.0.1",
        "connectionId": connection_id,
        "apiId": API_ID,
    }


def _multi(values: dict[str, str]) -> dict[str, list[str]]:
    """The multi-value form API Gateway sends beside single values: each name with its one value."""
    return {name: [value] for name, value in values.items()}


def ws_authorizer_event(
    query: dict[str, str], headers: dict[str, str], connection_id: str
) -> dict[str, Any]:
    context = _ws_context("$connect", "CONNECT", connection_id, int(time.time() * 1000))
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{API_ID}/{STAGE}/$connect",
        "headers": headers,
        "multiValueHeaders": _multi(headers),
        "queryStringParameters": query,
        "multiValueQueryStringParameters": _multi(query),
        "stageVariables": {},
        "requestContext": context,
    }


def ws_event(
    route: str,
    event_type: str,
    connection_id: str,
    connected_at: int,
    authorizer: dict[str, Any],
    body: str | None = None,
    disconnect_code: int = 1000,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    context = _ws_context(route, event_type, connection_id, connected_at)
    context["authorizer"] = authorizer
    if event_type == "MESSAGE":
        context["messageId"] = uuid.uuid4().hex
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if event_type != "MESSAGE":  # API Gateway sends the handshake's headers with these two
        sent = headers or {"Host": "127.0.0.1"}
        event["headers"] = sent
        event["multiValueHeaders"] = _multi(sent)
    if event_type == "DISCONNECT":
        context["disconnectStatusCode"] = disconnect_code
        context["disconnectReason"] = ""
    if body is not None:
        event["body"] = body
    return event

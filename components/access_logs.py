"""API Gateway access log formats: who called what and how it went, never a token.

Only `$context` fields: no header (Authorization), no query string (the WebSocket
`?token=`), no body.
"""

from __future__ import annotations

import json

_COMMON = {
    "requestId": "$context.requestId",
    "time": "$context.requestTimeEpoch",
    "sourceIp": "$context.identity.sourceIp",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "integrationError": "$context.integrationErrorMessage",
    "error": "$context.error.message",
}

HTTP_FORMAT = json.dumps(
    {
        **_COMMON,
        "method": "$context.httpMethod",
        "path": "$context.path",
        "latencyMs": "$context.responseLatency",
        # No user: no gateway authorizer vouches for one (the function logs the verified caller).
    }
)

WEBSOCKET_FORMAT = json.dumps(
    {
        **_COMMON,
        "eventType": "$context.eventType",
        "connectionId": "$context.connectionId",
        "latencyMs": "$context.integrationLatency",
        "user": "$context.authorizer.user_id",
    }
)

"""Amazon API Gateway's `@connections` management API (PostToConnection), as the local stage
serves it at `/@connections/{connection_id}`: the frame is queued on the open connection's outbox
and answered at once (API Gateway does not wait for the client to read); a connection that is
closed, unknown or dropped as too slow answers 410 `GoneException`, data over 128 KB answers
413 `PayloadTooLargeException`, and a hostile stage (local/chaos.py) throttles some posts with 429
`TooManyRequestsException`, as API Gateway does past its rate."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.limits import MAX_MESSAGE_BYTES
from local.chaos import OFF, Chaos
from local.request_body import body_within
from local.websocket_api import Outbox

MAX_POST_BYTES = MAX_MESSAGE_BYTES  # @connections PostToConnection's data


class ConnectionsApi:
    def __init__(self, sockets: dict[str, Outbox], chaos: Chaos = OFF) -> None:
        self.sockets = sockets  # the WebSocket API's open connections
        self.chaos = chaos

    async def post_to_connection(self, request: Request) -> Response:
        if self.chaos.strikes("connections_throttle"):
            return JSONResponse(
                {"message": "Too Many Requests"},
                status_code=429,
                headers={"x-amzn-ErrorType": "TooManyRequestsException"},
            )
        outbox = self.sockets.get(request.path_params["connection_id"])
        data = await body_within(request, MAX_POST_BYTES)
        if data is None:
            return JSONResponse(
                {"message": "Request Entity Too Large"},
                status_code=413,
                headers={"x-amzn-ErrorType": "PayloadTooLargeException"},
            )
        if outbox is None or not outbox.put(data.decode(errors="replace")):
            return JSONResponse(
                {"message": "Gone"}, status_code=410, headers={"x-amzn-ErrorType": "GoneException"}
            )
        return Response(status_code=200)

"""Amazon API Gateway's `@connections` management API (PostToConnection), as the local stage
serves it at `/@connections/{connection_id}`: the frame is queued on the open connection's outbox
and answered at once (API Gateway does not wait for the client to read); a connection that is
closed, unknown or dropped as too slow answers 410 `GoneException`, data over 128 KB answers
413 `PayloadTooLargeException`, and a hostile stage (local/chaos.py) throttles some posts with 429
`LimitExceededException`, as API Gateway does past its rate or when the client's buffer is full:
then a connection refuses for a second or three, longer than an SDK's quick retries.

Given the stage's credentials, it answers, as API Gateway's IAM authorization does, only a post
signed with them for `execute-api` (local/sigv4.py): anyone else on the machine would otherwise
push frames into anyone's socket."""

from __future__ import annotations

import random
import time

from botocore.credentials import Credentials
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.limits import MAX_MESSAGE_BYTES
from local.chaos import OFF, Chaos
from local.delivery_trace import TRACE, frame_position
from local.request_body import body_within
from local.sigv4 import Refused, check
from local.sigv4 import Request as SignedRequest
from local.websocket_api import Outbox

MAX_POST_BYTES = MAX_MESSAGE_BYTES  # @connections PostToConnection's data


class ConnectionsApi:
    def __init__(
        self,
        sockets: dict[str, Outbox],
        chaos: Chaos = OFF,
        credentials: Credentials | None = None,
    ) -> None:
        self.sockets = sockets  # the WebSocket API's open connections
        self.chaos = chaos
        self.credentials = credentials  # the only ones a post may be signed with
        self.full_until: dict[str, float] = {}  # connections refusing posts for a while
        self.clock = time.monotonic

    async def post_to_connection(self, request: Request) -> Response:
        connection_id = request.path_params["connection_id"]
        data = await body_within(request, MAX_POST_BYTES)
        if data is None:
            return JSONResponse(
                {"message": "Request Entity Too Large"},
                status_code=413,
                headers={"x-amzn-ErrorType": "PayloadTooLargeException"},
            )
        if self.credentials is not None:
            try:
                signed = SignedRequest.of_scope(request.scope, data)
                check(signed, self.credentials, service="execute-api")
            except Refused as refused:
                return JSONResponse(
                    {"message": refused.message},
                    status_code=403,
                    headers={"x-amzn-ErrorType": "ForbiddenException"},
                )
        if self._refusing(connection_id):
            return JSONResponse(
                {"message": "Rate exceeded"},
                status_code=429,
                headers={"x-amzn-ErrorType": "LimitExceededException"},
            )
        outbox = self.sockets.get(connection_id)
        if outbox is None or not outbox.put(data.decode(errors="replace")):
            return JSONResponse(
                {"message": "Gone"}, status_code=410, headers={"x-amzn-ErrorType": "GoneException"}
            )
        if TRACE.path is not None:
            TRACE.record("queued", connection=connection_id, **frame_position(data))
        return Response(status_code=200)

    def _refusing(self, connection_id: str) -> bool:
        now = self.clock()
        if self.full_until.get(connection_id, 0.0) > now:
            return True
        self.full_until.pop(connection_id, None)
        if self.chaos.strikes("connections_throttle"):
            self.full_until[connection_id] = now + random.uniform(1.0, 3.0)
            return True
        return False

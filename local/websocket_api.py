"""Amazon API Gateway's WebSocket API, as the local stage serves it at `/ws`: the `$connect`
authorizer (a refusal fails the handshake), `$connect` and `$disconnect` sent to their function,
route selection on the body's `action` (`$default` otherwise), two-way replies (a failing function
answers API Gateway's "Internal server error" frame and the socket stays open), the idle timeout,
the two-hour connection limit and the 32 KB frame limit (the 128 KB message limit is uvicorn's
`ws_max_size`, which the stage sets). What goes out on a socket is queued on its `Outbox`, which
the `@connections` endpoint posts to."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import time
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from components import topology
from components.topology import WS_ROUTES
from domain.limits import IDLE_TIMEOUT_S, MAX_CONNECTION_S, MAX_FRAME_BYTES
from local.chaos import OFF, Chaos
from local.events import ws_authorizer_event, ws_event
from local.lambdas import Lambdas

WS_ROUTE_KEYS = {route.route_key: route for route in WS_ROUTES}
OUTBOX_FRAMES = 1000  # frames a client may fall behind by before it is disconnected


class Outbox:
    """What goes out on one socket, in order, written by one task: a post to @connections is
    answered as soon as its frame is queued (API Gateway does not wait for the client to read),
    and a client that falls too far behind is disconnected instead of holding up its senders."""

    def __init__(self, socket: WebSocket) -> None:
        self.socket = socket
        self.queue: asyncio.Queue[str] = asyncio.Queue(OUTBOX_FRAMES)
        self.open = True
        self.writer = asyncio.create_task(self._write())
        self.closing: asyncio.Task[None] | None = None

    def put(self, text: str) -> bool:
        """Queue a frame; False if the connection is gone (or just got dropped as too slow)."""
        if not self.open:
            return False
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.open = False
            self.closing = asyncio.create_task(self.socket.close(code=1008, reason="Too slow"))
            return False
        return True

    async def _write(self) -> None:
        while True:
            text = await self.queue.get()
            try:
                await self.socket.send_text(text)
            except (RuntimeError, WebSocketDisconnect):  # the client left
                self.open = False
                return

    def close(self) -> None:
        self.open = False
        self.writer.cancel()


def identity_present(query: dict[str, str], headers: dict[str, str]) -> bool:
    """Whether every identity source of the `$connect` authorizer is in the request, not empty
    (`route.request.querystring.<name>` or `route.request.header.<name>`, by any case)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for source in topology.WS_AUTHORIZER_IDENTITY:
        where, _, name = source.removeprefix("route.request.").partition(".")
        value = query.get(name) if where == "querystring" else lowered.get(name.lower())
        if not value:
            return False
    return True


class WebSocketApi:
    def __init__(
        self,
        lambdas: Lambdas,
        sockets: dict[str, Outbox],  # the open connections, shared with @connections
        on_invoked: Callable[[], None] = lambda: None,
        chaos: Chaos = OFF,
    ) -> None:
        self.lambdas = lambdas
        self.chaos = chaos
        self.sockets = sockets
        # Called after a message's function ran: it may have written to a stream.
        self.on_invoked = on_invoked

    async def connect(self, socket: WebSocket) -> None:
        connection_id = base64.urlsafe_b64encode(os.urandom(12)).decode()
        connected_at = int(time.time() * 1000)
        query, handshake = dict(socket.query_params), dict(socket.headers)
        unauthorized = JSONResponse({"message": "Unauthorized"}, status_code=401)
        # API Gateway refuses without asking the authorizer when an identity source is missing
        # or empty.
        if not identity_present(query, handshake):
            await socket.send_denial_response(unauthorized)
            return
        try:
            policy = await self.lambdas.invoke(
                "ws-authorizer", ws_authorizer_event(query, handshake, connection_id)
            )
        except Exception:  # the authorizer refused ("Unauthorized"): the handshake fails with 401
            await socket.send_denial_response(unauthorized)
            return
        authorizer = {"principalId": policy["principalId"], **policy.get("context", {})}
        connect = WS_ROUTE_KEYS["$connect"]
        answer = await self.lambdas.invoke(
            connect.function,
            ws_event(
                "$connect", "CONNECT", connection_id, connected_at, authorizer, headers=handshake
            ),
        )
        if answer.get("statusCode") != 200:  # the handshake fails with $connect's own answer
            await socket.send_denial_response(
                Response(answer.get("body") or "", status_code=int(answer.get("statusCode", 500)))
            )
            return
        # The subprotocol the $connect route chose, as API Gateway hands it on (none: none).
        chosen = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
        await socket.accept(subprotocol=chosen.get("sec-websocket-protocol"))
        outbox = self.sockets[connection_id] = Outbox(socket)
        try:
            await self._serve(outbox, connection_id, connected_at, authorizer)
        finally:
            self.sockets.pop(connection_id, None)
            outbox.close()
            if self.chaos.disconnect_delay_s:  # API Gateway runs $disconnect when it gets to it
                await asyncio.sleep(random.uniform(0, self.chaos.disconnect_delay_s))
            disconnect = WS_ROUTE_KEYS["$disconnect"]
            await self.lambdas.invoke(
                disconnect.function,
                ws_event("$disconnect", "DISCONNECT", connection_id, connected_at, authorizer),
            )

    async def _serve(
        self, outbox: Outbox, connection_id: str, connected_at: int, authorizer: dict[str, Any]
    ) -> None:
        socket = outbox.socket
        deadline = connected_at / 1000 + MAX_CONNECTION_S
        while True:
            timeout = min(IDLE_TIMEOUT_S, deadline - time.time())
            try:
                message = await asyncio.wait_for(socket.receive(), timeout=max(timeout, 0))
            except TimeoutError:
                await socket.close(code=1001, reason="Going away")
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text") or (message.get("bytes") or b"").decode(errors="replace")
            if len(text.encode()) > MAX_FRAME_BYTES:
                # API Gateway closes a connection that sends a frame over 32 KB.
                await socket.close(code=1009, reason="Message too big")
                return
            route = WS_ROUTE_KEYS.get(_action(text)) or WS_ROUTE_KEYS["$default"]
            event = ws_event(
                route.route_key, "MESSAGE", connection_id, connected_at, authorizer, text
            )
            try:
                answer = await self.lambdas.invoke(route.function, event)
            except Exception:  # API Gateway tells the client, and the connection stays open
                answer = {"body": internal_error(connection_id)}
            finally:
                self.on_invoked()
            if route.replies and isinstance(answer, dict) and answer.get("body"):
                outbox.put(answer["body"])


def internal_error(connection_id: str) -> str:
    request_id = base64.urlsafe_b64encode(os.urandom(6)).decode()
    return json.dumps(
        {
            "message": "Internal server error",
            "connectionId": connection_id,
            "requestId": request_id,
        }
    )


def _action(text: str) -> str:
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):  # not JSON API Gateway can select a route by
        return "$default"
    action = body.get("action") if isinstance(body, dict) else None
    return (
        action
        if isinstance(action, str) and action in WS_ROUTE_KEYS and not action.startswith("$")
        else "$default"
    )

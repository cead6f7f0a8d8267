"""The local API Gateway: one origin serving `/api/...` (HTTP API with its JWT authorizer), `/ws`
(WebSocket API: authorizer, route selection, two-way replies, API Gateway's limits), the
`@connections` management endpoint, and `/config.json`. Routes and functions come from the
topology, and every function receives the event shape AWS would send it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from adapters.aws import client
from adapters.tokens import CognitoVerifier, InvalidToken
from components.topology import HTTP_ROUTES, WS_ROUTES, HttpRoute
from domain.limits import MAX_UPLOAD_BYTES
from local.events import http_event, ws_authorizer_event, ws_event
from local.lambdas import Lambdas
from local.s3_post import PolicyRefused, check_policy, check_signature

MAX_FRAME_BYTES = 32 * 1024
MAX_MESSAGE_BYTES = 128 * 1024
MAX_HTTP_BODY_BYTES = 10 * 1024 * 1024  # HTTP API's payload quota
MAX_POST_BYTES = 128 * 1024  # @connections PostToConnection's data
MAX_COGNITO_BODY_BYTES = 1024 * 1024
IDLE_TIMEOUT_S = 600
MAX_CONNECTION_S = 2 * 3600
UPLOAD_FORM_OVERHEAD = 64 * 1024  # the policy, its signature and the other form fields


def _route_pattern(route: HttpRoute) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.path) + "$")


PATTERNS = [(route, _route_pattern(route)) for route in HTTP_ROUTES]
WS_ROUTE_KEYS = {route.route_key: route for route in WS_ROUTES}


SignUps = Callable[[str, str, list[dict[str, str]]], None]

# The Cognito calls a browser makes against a public client; the rest needs IAM credentials.
COGNITO_PUBLIC_TARGETS = frozenset(
    f"AWSCognitoIdentityProviderService.{action}"
    for action in (
        "SignUp",
        "ConfirmSignUp",
        "ResendConfirmationCode",
        "InitiateAuth",
        "RespondToAuthChallenge",
        "AssociateSoftwareToken",
        "VerifySoftwareToken",
        "GetUser",
        "GlobalSignOut",
        "RevokeToken",
        "ForgotPassword",
        "ConfirmForgotPassword",
        "ChangePassword",
    )
)


class Gateway:
    def __init__(
        self,
        verifier: CognitoVerifier,
        config: dict[str, Any],
        cognito_upstream: str = "",
        on_sign_up: SignUps | None = None,  # confirms (and may remember) a new user
        on_invoked: Callable[[], None] = lambda: None,
        lambdas: Lambdas | None = None,
    ) -> None:
        self.lambdas = lambdas or Lambdas()
        self.verifier = verifier
        self.config = config
        self.sockets: dict[str, Outbox] = {}
        self.cognito_upstream = cognito_upstream
        self.on_sign_up = on_sign_up
        # Called after a request's function ran: it may have written to a stream.
        self.on_invoked = on_invoked

    async def cognito(self, request: Request) -> Response:
        """Cognito's API, passed through to the local pool; sign-ups are remembered so that the
        users survive a restart (Cognito never gives a password back)."""
        target = request.headers.get("x-amz-target", "")
        if target not in COGNITO_PUBLIC_TARGETS:
            return JSONResponse(
                {"__type": "NotAuthorizedException", "message": f"{target} needs credentials"},
                status_code=400,
            )
        body = await body_within(request, MAX_COGNITO_BODY_BYTES)
        if body is None:
            return JSONResponse(
                {"__type": "InvalidParameterException", "message": "request too large"},
                status_code=400,
            )
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}
        }
        answer = await run_in_threadpool(
            requests.post, self.cognito_upstream + "/", data=body, headers=headers, timeout=30
        )
        content = answer.content
        if answer.status_code == 200 and target.endswith(".SignUp") and self.on_sign_up:
            signed_up = json.loads(body)
            await run_in_threadpool(
                self.on_sign_up,
                signed_up["Username"],
                signed_up["Password"],
                signed_up.get("UserAttributes", []),
            )
            # As a pool with an auto-confirming pre-sign-up trigger answers.
            content = json.dumps({**answer.json(), "UserConfirmed": True}).encode()
        passed = {
            k: v
            for k, v in answer.headers.items()
            if k.lower().startswith(("content-type", "x-amz"))
        }
        return Response(content, answer.status_code, passed)

    # --- HTTP API ------------------------------------------------------------------------------

    async def http(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        method = request.method
        for route, pattern in PATTERNS:
            match = pattern.match(path)
            if match and route.method == method:
                break
        else:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        claims = None
        if not route.public:
            token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            try:
                identity = await run_in_threadpool(self.verifier.verify, token)
            except InvalidToken:
                return JSONResponse({"message": "Unauthorized"}, status_code=401)
            claims = self._claims(token, identity.user_id)
        raw = await body_within(request, MAX_HTTP_BODY_BYTES)
        if raw is None:
            return JSONResponse({"message": "Request Entity Too Large"}, status_code=413)
        body = raw.decode(errors="replace") or None
        event = http_event(
            method,
            path,
            f"{route.method} {route.path}",
            match.groupdict(),
            request.url.query,
            dict(request.headers),
            body,
            claims,
            request.client.host if request.client else "127.0.0.1",
        )
        try:
            answer = await self.lambdas.invoke(route.function, event)
        except Exception:  # what API Gateway answers when the integration fails
            return JSONResponse({"message": "Internal Server Error"}, status_code=500)
        finally:
            self.on_invoked()
        headers = dict(answer.get("headers") or {})
        return Response(answer.get("body") or "", answer["statusCode"], headers)

    @staticmethod
    def _claims(token: str, user_id: str) -> dict[str, Any]:
        """The verified token's claims, as API Gateway's JWT authorizer passes them on."""
        payload = token.split(".")[1]
        claims: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
        claims.setdefault("username", user_id)
        return claims

    async def upload(self, request: Request) -> Response:
        """S3's POST upload, with the policy checks moto leaves out; the object goes to moto."""
        bucket = request.path_params["bucket"]
        declared = int(request.headers.get("content-length") or 0)
        if declared > MAX_UPLOAD_BYTES + UPLOAD_FORM_OVERHEAD:
            refused = PolicyRefused(400, "EntityTooLarge", "the upload is too large")
            return Response(refused.xml(), refused.status, media_type="application/xml")
        async with request.form(max_part_size=MAX_UPLOAD_BYTES + 1) as form:
            upload = form.get("file")
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            try:
                # Signed and within the policy before a byte of the file is read into memory.
                check_signature(fields, os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
                size = upload.size if isinstance(upload, UploadFile) else 0
                check_policy(fields, bucket, size or 0)
            except PolicyRefused as refused:
                return Response(refused.xml(), refused.status, media_type="application/xml")
            data = await upload.read() if isinstance(upload, UploadFile) else b""
        content_type = next(
            (v for k, v in fields.items() if k.lower() == "content-type"), "binary/octet-stream"
        )
        await run_in_threadpool(
            client("s3").put_object,
            Bucket=bucket,
            Key=fields["key"],
            Body=data,
            ContentType=content_type,
        )
        return Response(status_code=204)

    async def config_json(self, _: Request) -> Response:
        return JSONResponse(self.config)

    # --- @connections ----------------------------------------------------------------------------

    async def post_to_connection(self, request: Request) -> Response:
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

    # --- WebSocket API ---------------------------------------------------------------------------

    async def websocket(self, socket: WebSocket) -> None:
        connection_id = base64.urlsafe_b64encode(os.urandom(12)).decode()
        connected_at = int(time.time() * 1000)
        try:
            policy = await self.lambdas.invoke(
                "ws-authorizer",
                ws_authorizer_event(dict(socket.query_params), dict(socket.headers), connection_id),
            )
        except Exception:  # the authorizer refused ("Unauthorized"): the handshake fails
            await socket.close(code=1008)
            return
        authorizer = {"principalId": policy["principalId"], **policy.get("context", {})}
        connect = WS_ROUTE_KEYS["$connect"]
        answer = await self.lambdas.invoke(
            connect.function,
            ws_event("$connect", "CONNECT", connection_id, connected_at, authorizer),
        )
        if answer.get("statusCode") != 200:
            await socket.close(code=1008)
            return
        await socket.accept()
        outbox = self.sockets[connection_id] = Outbox(socket)
        try:
            await self._serve(outbox, connection_id, connected_at, authorizer)
        finally:
            self.sockets.pop(connection_id, None)
            outbox.close()
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
    except ValueError:
        return "$default"
    action = body.get("action") if isinstance(body, dict) else None
    return (
        action
        if isinstance(action, str) and action in WS_ROUTE_KEYS and not action.startswith("$")
        else "$default"
    )


UI_ROOT = Path(__file__).resolve().parents[1] / "ui"


async def body_within(request: Request, limit: int) -> bytes | None:
    """The request's body, or None once it is over `limit` bytes (declared or streamed): refused
    before it is all read, as API Gateway does."""
    if int(request.headers.get("content-length") or 0) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def ui_build(root: Path = UI_ROOT) -> Path | None:
    """The web client's build folder (the one holding index.html under ui/dist), if built."""
    found = sorted((root / "dist").glob("**/index.html")) if (root / "dist").is_dir() else []
    return found[0].parent if found else None


def create_app(gateway: Gateway, ui: Path | None = None) -> Starlette:
    mounts = [Mount("/", StaticFiles(directory=ui, html=True))] if ui else []
    return Starlette(
        routes=[
            Route("/config.json", gateway.config_json),
            Route(
                "/api/{path:path}", gateway.http, methods=["GET", "POST", "PATCH", "DELETE", "PUT"]
            ),
            Route("/@connections/{connection_id}", gateway.post_to_connection, methods=["POST"]),
            Route("/s3/{bucket}", gateway.upload, methods=["POST"]),
            Route("/cognito", gateway.cognito, methods=["POST"]),
            Route("/cognito/", gateway.cognito, methods=["POST"]),
            WebSocketRoute("/ws", gateway.websocket),
            *mounts,
        ]
    )

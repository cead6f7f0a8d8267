"""The local API Gateway origin: one Starlette app composing the emulated services, each in a
module of its own, over shared state (the Lambdas runner, the open WebSocket connections that the
WebSocket API and `@connections` share, and the hook called after a function ran):

- `/api/...`: API Gateway's HTTP API (`local.http_api`);
- `/ws`: API Gateway's WebSocket API (`local.websocket_api`);
- `/@connections/{id}`: its management endpoint (`local.connections_api`);
- `/s3/{bucket}`: S3's POST-policy upload (`local.s3`);
- `/cognito`: Cognito's public API, passed through to the local pool (`local.cognito`);
- `/config.json`: the web client's configuration, and `/` the web client's build, if any."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from botocore.credentials import Credentials
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from local import s3
from local.chaos import OFF, Chaos
from local.cognito import Cognito, SignUps
from local.connections_api import ConnectionsApi
from local.http_api import HttpApi
from local.lambdas import Lambdas
from local.request_body import body_within
from local.websocket_api import Outbox, WebSocketApi

__all__ = ["UI_ROOT", "Gateway", "body_within", "create_app", "ui_build"]

UI_ROOT = Path(__file__).resolve().parents[1] / "ui"


class Gateway:
    def __init__(
        self,
        config: dict[str, Any],
        cognito_upstream: str = "",
        on_sign_up: SignUps | None = None,  # confirms (and may remember) a new user
        on_invoked: Callable[[], None] = lambda: None,
        lambdas: Lambdas | None = None,
        chaos: Chaos = OFF,
        credentials: Credentials | None = None,  # the only ones @connections posts are signed with
    ) -> None:
        self.lambdas = lambdas or Lambdas()
        self.config = config
        self.sockets: dict[str, Outbox] = {}  # open connections: posted to via @connections
        self.cognito = Cognito(cognito_upstream, on_sign_up)
        # on_invoked: called after a function ran, since it may have written to a stream.
        self.http_api = HttpApi(self.lambdas, on_invoked)
        self.websocket_api = WebSocketApi(self.lambdas, self.sockets, on_invoked, chaos)
        self.connections_api = ConnectionsApi(self.sockets, chaos, credentials)

    async def config_json(self, _: Request) -> Response:
        return JSONResponse(self.config)


def ui_build(root: Path = UI_ROOT) -> Path | None:
    """The web client's build folder (the one holding index.html under ui/dist), if built."""
    found = sorted((root / "dist").glob("**/index.html")) if (root / "dist").is_dir() else []
    return found[0].parent if found else None


def not_found(gateway: Gateway) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def answer(request: Request, error: Exception) -> Response:
        """A path under /api is the HTTP API's whatever it is (one with a newline in it, say): its
        `$default` route takes it. Anywhere else, what API Gateway answers a path it has no
        route for."""
        if request.url.path.startswith("/api/"):
            return await gateway.http_api.handle(request)
        return JSONResponse({"message": "Not Found"}, status_code=404)

    return answer


def create_app(gateway: Gateway, ui: Path | None = None) -> Starlette:
    mounts = [Mount("/", StaticFiles(directory=ui, html=True))] if ui else []
    return Starlette(
        exception_handlers={404: not_found(gateway)},
        routes=[
            Route("/config.json", gateway.config_json),
            Route(
                "/api/{path:path}",
                gateway.http_api.handle,
                methods=["GET", "HEAD", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"],
            ),
            Route(
                "/@connections/{connection_id}",
                gateway.connections_api.post_to_connection,
                methods=["POST"],
            ),
            Route("/s3/{bucket}", s3.upload, methods=["POST"]),
            Route("/cognito", gateway.cognito.handle, methods=["POST"]),
            Route("/cognito/", gateway.cognito.handle, methods=["POST"]),
            WebSocketRoute("/ws", gateway.websocket_api.connect),
            *mounts,
        ],
    )

"""moto's WSGI application served over kept-alive connections, as AWS's endpoints keep them.

moto's own threaded server is werkzeug's development server. It answers every request with
`Connection: close` (http.server cannot find the next request on a connection when an application
left part of a body unread), and then waits 10 ms for more bytes to discard before it lets the
connection go. So every AWS call to the local stage paid for a new TCP connection and a new server
thread on top of the call, botocore's connection pool never reused anything, and each answer was
held back. Measured on one GetItem: 2.6 ms of client CPU and 3.2 ms of server CPU.

Here the same application (moto's `DomainDispatcherApplication`) runs behind uvicorn (its HTTP
parser is httptools, in C) through a2wsgi's WSGI adapter, on a pool of threads: connections stay
open, and requests are parsed once. What werkzeug's server (and moto's handler on it) put in a
request's environ and a2wsgi does not is put there as they did (`as_werkzeug_made_it`): the raw
path (an S3 key is decoded once, not twice), a chunked body read to its end, and headers with an
underscore in their name dropped, but for S3 metadata's, kept under their own spelling, never
standing in for a dashed one.

A long poll holds one thread of the pool for its wait: the stage's pollers wait at most 1 s and
are far fewer than the pool, but a request that finds every thread busy waits for one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

import uvicorn
from a2wsgi import WSGIMiddleware
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.moto_server.werkzeug_app import (
    BackendRequest,
    DomainDispatcherApplication,
    create_backend_app,
)
from werkzeug.wrappers import Response

from local.sigv4 import signed_only

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Requests handled at once (a long poll holds one for its wait); moto serialises what must be
# serialised itself, and local/moto_server.py's locks do the rest.
THREADS = 64


def as_werkzeug_made_it(environ: dict[str, Any]) -> dict[str, Any]:
    """The environ a2wsgi built, as werkzeug's server with moto's request handler built it."""
    scope = environ["asgi.scope"]
    headers = [(n.decode("latin1"), v.decode("latin1")) for n, v in scope.get("headers", [])]
    raw_path = scope.get("raw_path") or scope["path"].encode()
    query = environ.get("QUERY_STRING", "")
    environ["RAW_URI"] = raw_path.decode("latin1") + (f"?{query}" if query else "")
    if "CONTENT_LENGTH" not in environ:  # chunked, or no body: read the stream to its end
        environ["wsgi.input_terminated"] = True
    dashed: dict[str, list[str]] = {}
    for name, value in headers:
        if "_" not in name:
            dashed.setdefault(environ_key_for_header(name), []).append(value)
    for key in {environ_key_for_header(name) for name, _ in headers if "_" in name}:
        if key in dashed:
            environ[key] = ",".join(dashed[key])  # an underscored header never stands in
        else:
            environ.pop(key, None)  # werkzeug drops it
    kept: dict[str, str] = {}
    preserved: dict[str, list[str]] = {}
    for name, value in headers:
        key = environ_key_for_header(name)
        if "_" in name and key not in dashed and should_preserve_original_header_name(name):
            kept.setdefault(key, name)
            preserved.setdefault(key, []).append(value)
    for key, values in preserved.items():
        environ[key] = ",".join(values)
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = kept
    return environ


def _werkzeug_environ(app: WsgiApp) -> WsgiApp:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return app(as_werkzeug_made_it(environ), start_response)

    return wrapped


# The JSON services whose calls are all `POST /` with a target: answered by their handler directly.
_HANDLERS_BY_TARGET: Final = (
    ("DynamoDB_20120810.", DynamoHandler),
    ("DynamoDBStreams_20120810.", DynamoDBStreamsHandler),
)


def _dynamodb_directly(app: WsgiApp) -> WsgiApp:
    """A DynamoDB call goes straight to moto's handler, as moto's Flask view would hand it on
    (the same request class, URL and headers; a ClientError a 400, CORS's header added; moto's
    request recorder, which the stage never turns on, is left out), without
    the dispatcher's service lookup under its lock and Flask's request machinery: they cost about
    as much of the DynamoDB server's CPU as the calls themselves."""

    def direct(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        handler = next((h for prefix, h in _HANDLERS_BY_TARGET if target.startswith(prefix)), None)
        if handler is None or environ["REQUEST_METHOD"] != "POST" or environ["PATH_INFO"] != "/":
            return app(environ, start_response)
        request = BackendRequest(environ)
        try:
            status, headers, body = handler.dispatch(
                request, request.raw_url, dict(request.headers)
            )
        except ClientError as error:
            status, headers, body = 400, {}, error.response["Error"]["Message"]
        response = Response(body, status, headers)
        origin = environ.get("HTTP_ORIGIN")  # answered as Flask-CORS answers it in moto's app
        response.headers["Access-Control-Allow-Origin"] = origin or "*"
        if origin:
            response.headers.add("Vary", "Origin")
        return response(environ, start_response)

    return direct


def _without_internals(app: WsgiApp) -> WsgiApp:
    """moto's own API (`/moto-api/data.json` lists every backend's state, Cognito users'
    passwords among them; `/moto-api/reset` wipes it) answers nobody: the stage never needs it.
    Its bare dashboard path stays, as the sign that the server is up."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/moto-api/") and path != "/moto-api/":
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"moto's internal API is not served by the local stage"]
        return app(environ, start_response)

    return guarded


class KeepAliveMotoServer:
    """moto's server application on 127.0.0.1:`port`, in a thread of this process; with
    `credentials`, for requests signed with them only (local/sigv4.py)."""

    def __init__(self, port: int, credentials: Credentials | None = None) -> None:
        moto_app = _without_internals(
            _werkzeug_environ(_dynamodb_directly(DomainDispatcherApplication(create_backend_app)))
        )
        if credentials is not None:
            moto_app = signed_only(moto_app, credentials)
        app = WSGIMiddleware(moto_app, workers=THREADS)  # type: ignore[arg-type]
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                http="httptools",
                lifespan="off",
                log_level="warning",
                access_log=False,
                timeout_keep_alive=60,
            )
        )
        self.port = port
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="moto-http")

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"moto's server did not start on port {self.port}")
            time.sleep(0.01)

    def get_host_and_port(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)

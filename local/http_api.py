"""Amazon API Gateway's HTTP API, as the local stage serves it under `/api`: the topology's
HTTP_ROUTES matched on method and path (`{name}` path parameters), a request no route takes handed
to the `$default` route's function, the 10 MB payload quota (413 before the body is read whole),
the payload-2.0 event handed to the function, and a failing integration answered with API
Gateway's 500. There is no authorizer, as on AWS: the function verifies the token."""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from components.topology import HTTP_DEFAULT_FUNCTION, HTTP_ROUTES, HttpRoute
from local.events import http_event
from local.lambdas import Lambdas
from local.request_body import body_within

MAX_HTTP_BODY_BYTES = 10 * 1024 * 1024  # HTTP API's payload quota


def _route_pattern(route: HttpRoute) -> re.Pattern[str]:
    return re.compile("^" + route.path_as(r"(?P<\1>[^/]+)") + "$")


PATTERNS = [(route, _route_pattern(route)) for route in HTTP_ROUTES]


def match_route(method: str, path: str) -> tuple[str, str, dict[str, str]]:
    """The route key a request takes, its function and its path parameters: `$default` when no
    route takes it."""
    for route, pattern in PATTERNS:
        match = pattern.match(path)
        if match and route.method == method:
            return f"{route.method} {route.path}", route.function, match.groupdict()
    return "$default", HTTP_DEFAULT_FUNCTION, {}


class HttpApi:
    def __init__(self, lambdas: Lambdas, on_invoked: Callable[[], None] = lambda: None) -> None:
        self.lambdas = lambdas
        # Called after a request's function ran: it may have written to a stream.
        self.on_invoked = on_invoked

    async def handle(self, request: Request) -> Response:
        path = request.url.path.removeprefix("/api")
        method = request.method
        route_key, function, path_parameters = match_route(method, path)
        raw = await body_within(request, MAX_HTTP_BODY_BYTES)
        if raw is None:
            return JSONResponse({"message": "Request Entity Too Large"}, status_code=413)
        body = raw.decode(errors="replace") or None
        event = http_event(
            method,
            path,
            route_key,
            path_parameters,
            request.url.query,
            dict(request.headers),
            body,
            request.client.host if request.client else "127.0.0.1",
        )
        try:
            answer = await self.lambdas.invoke(function, event)
        except Exception:  # what API Gateway answers when the integration fails
            return JSONResponse({"message": "Internal Server Error"}, status_code=500)
        finally:
            self.on_invoked()
        headers = dict(answer.get("headers") or {})
        return Response(answer.get("body") or "", answer["statusCode"], headers)

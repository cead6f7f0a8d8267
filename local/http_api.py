"""Amazon API Gateway's HTTP API, as the local stage serves it under `/api`: the topology's
HTTP_ROUTES matched on method and path (`{name}` path parameters), the JWT authorizer emulated on
every non-public route (the bearer token verified with `adapters.tokens`, its claims passed on),
the 10 MB payload quota (413 before the body is read whole), the payload-2.0 event handed to the
route's function, and a failing integration answered with API Gateway's 500."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.tokens import CognitoVerifier, InvalidToken
from components.topology import HTTP_ROUTES, HttpRoute
from local.events import http_event
from local.lambdas import Lambdas
from local.request_body import body_within

MAX_HTTP_BODY_BYTES = 10 * 1024 * 1024  # HTTP API's payload quota


def _route_pattern(route: HttpRoute) -> re.Pattern[str]:
    return re.compile("^" + route.path_as(r"(?P<\1>[^/]+)") + "$")


PATTERNS = [(route, _route_pattern(route)) for route in HTTP_ROUTES]


def match_route(method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
    """The route a request takes and its path parameters, or None (API Gateway's 404)."""
    for route, pattern in PATTERNS:
        match = pattern.match(path)
        if match and route.method == method:
            return route, match.groupdict()
    return None


def jwt_claims(token: str, user_id: str) -> dict[str, Any]:
    """The verified token's claims, as API Gateway's JWT authorizer passes them on."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    claims.setdefault("username", user_id)
    return claims


class HttpApi:
    def __init__(
        self,
        verifier: CognitoVerifier,
        lambdas: Lambdas,
        on_invoked: Callable[[], None] = lambda: None,
    ) -> None:
        self.verifier = verifier
        self.lambdas = lambdas
        # Called after a request's function ran: it may have written to a stream.
        self.on_invoked = on_invoked

    async def handle(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        method = request.method
        matched = match_route(method, path)
        if matched is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        route, path_parameters = matched
        claims = None
        if not route.public:
            token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            try:
                identity = await run_in_threadpool(self.verifier.verify, token)
            except InvalidToken:
                return JSONResponse({"message": "Unauthorized"}, status_code=401)
            claims = jwt_claims(token, identity.user_id)
        raw = await body_within(request, MAX_HTTP_BODY_BYTES)
        if raw is None:
            return JSONResponse({"message": "Request Entity Too Large"}, status_code=413)
        body = raw.decode(errors="replace") or None
        event = http_event(
            method,
            path,
            f"{route.method} {route.path}",
            path_parameters,
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

"""HTTP API: the routes of the public API (docs/architecture.md, design section 4).

The caller is the user of the Cognito JWT in `Authorization: Bearer`, verified here before any
route but the topology's public ones runs (the gateway has no authorizer, so that a refusal comes
in the API's error shape). Every request no route takes reaches this function too (`$default`):
a CORS preflight is answered 204, anything else `not_found`. Every route that carries a chat
command is registered from the topology (its body and path decode into the command, which the
service runs); the read routes and the file routes below each call one application function.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.tokens import InvalidToken
from application import files, queries, wire
from application.pacing import pace
from components.topology import HTTP_API, HTTP_ROUTES, HttpRoute
from domain.commands import COMMANDS, Command, RequestUpload
from domain.errors import DomainError
from domain.limits import DOWNLOAD_EXPIRES_S
from functions.composition import Root
from functions.http_api.deps import Deps, from_environment
from functions.http_api.documents import openapi_document, ws_frames_document
from functions.http_api.replies import NoRoute, no_content, redirect, refused, reply, written

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "http-api"))
app = APIGatewayHttpResolver()
root = Root(from_environment)


def deps() -> Deps:
    return cast(Deps, app.context["deps"])


def caller() -> str:
    """The user whose token `signed_in` verified."""
    return cast(str, app.context["caller"])


PUBLIC = frozenset((r.method, r.path_as(r"<\1>")) for r in HTTP_ROUTES if r.public)


def signed_in(resolver: APIGatewayHttpResolver, next_route: NextMiddleware) -> Response[Any]:
    """Runs before every route, and before the answer to a request no route takes: only a
    public route, or a CORS preflight, goes on without a valid token."""
    route = resolver.context["_route"]
    if route.method == "OPTIONS" or (route.method, route.path) in PUBLIC:
        return next_route(resolver)
    authorization = resolver.current_event.headers.get("authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("sign in: this request needs an Authorization: Bearer token")
    identity = deps().tokens.verify(token.strip())
    resolver.append_context(caller=identity.user_id)  # type: ignore[no-untyped-call]
    logger.append_keys(user=identity.user_id)
    return next_route(resolver)


app.use(middlewares=[signed_in])


def body() -> str:
    return app.current_event.decoded_body or "{}"


def query(name: str) -> str | None:
    return app.current_event.get_query_string_value(name) or None


def query_int(name: str) -> int | None:
    value = query(name)
    try:
        return None if value is None else int(value)
    except ValueError as error:
        raise DomainError(f"{name} must be a whole number") from error


app.exception_handler(DomainError)(refused)


@app.not_found
def no_route(_: Exception) -> Response[Any]:
    if app.current_event.http_method == "OPTIONS":
        return no_content()  # a preflight: the gateway adds the CORS headers it is configured with
    raise NoRoute("there is no such route")


# --- chat commands, one route each, from the topology ---------------------------------------------


def command_route(route: HttpRoute) -> Callable[..., Response[Any]]:
    kind = wire.BY_ACTION[route.command]

    def run(**path: str) -> Response[Any]:
        user = caller()
        pace(deps().limits, user, route.command)
        # A DELETE says all it means in its path (and its body was always ignored).
        raw = None if route.method == "DELETE" else body()
        command = cast(Command, wire.decode(raw, kind, path))
        return written(deps().chat.execute(user, command), route.creates)

    return run


def register_command_routes() -> None:
    for route in HTTP_ROUTES:
        if route.function == HTTP_API.name and wire.BY_ACTION.get(route.command) in COMMANDS:
            app.route(route.path_as(r"<\1>"), route.method)(command_route(route))


register_command_routes()


# --- documents, reads and files -------------------------------------------------------------------


openapi_once, ws_frames_once = Root(openapi_document), Root(ws_frames_document)


@app.get("/openapi.json")
def openapi() -> Response[Any]:
    return reply(openapi_once())


@app.get("/ws-frames.json")
def ws_frames() -> Response[Any]:
    return reply(ws_frames_once())


@app.get("/me")
def me() -> Response[Any]:
    return reply({"user_id": caller()})


@app.get("/rooms")
def inbox() -> Response[Any]:
    return reply({"rooms": deps().views.inbox(caller())})


@app.get("/rooms/<room_id>")
def room(room_id: str) -> Response[Any]:
    return reply(queries.room_page(deps().events, deps().views, room_id, caller()))


@app.get("/rooms/<room_id>/messages")
def history(room_id: str) -> Response[Any]:
    page = queries.history(
        deps().events, deps().views, room_id, caller(), query_int("before"), query_int("limit")
    )
    return reply({"messages": page})


@app.get("/rooms/<room_id>/events")
def catch_up(room_id: str) -> Response[Any]:
    return reply({"events": queries.catch_up(deps().events, room_id, caller(), query_int("after"))})


@app.post("/rooms/<room_id>/uploads")
def upload(room_id: str) -> Response[Any]:
    user = caller()
    pace(deps().limits, user, "upload")
    request = wire.decode(body(), RequestUpload, {"room_id": room_id})
    form = files.authorize_upload(deps().events, deps().files, user, request, deps().chat.ids())
    return reply(form, HTTPStatus.CREATED)


@app.get("/rooms/<room_id>/files/<file_id>")
def download(room_id: str, file_id: str) -> Response[Any]:
    """Members are redirected to a short-lived URL (or given it, with `as=url`, for a player that
    streams it); nobody else learns the file exists."""
    url = files.download_link(
        deps().events, deps().files, caller(), room_id, file_id, query("name")
    )
    if query("as") == "url":
        return reply({"url": url, "expires_in": DOWNLOAD_EXPIRES_S})
    return redirect(url)


def handle(event: dict[str, Any], context: LambdaContext, collaborators: Deps) -> dict[str, Any]:
    app.append_context(deps=collaborators)  # type: ignore[no-untyped-call]  # cleared by resolve()
    response: dict[str, Any] = app.resolve(event, context)
    return response


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, root())

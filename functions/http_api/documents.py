"""The API's documents, generated from the topology's routes and the `domain.commands` types they
carry, so they cannot drift from what is served: the HTTP API's OpenAPI 3.1 document and the
JSON Schemas of the WebSocket API's frames. Both read the topology at call time."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from application.pacing import describe_rate
from application.signals import TypingSignal
from application.wire import BY_ACTION, field_types
from components import topology
from components.topology import HttpRoute
from domain import rate_limits
from domain.events import Event
from domain.public import PublicEvent
from functions.http_api.schemas import DIALECT, body_schemas, frames_schema
from functions.ws.frames import REPLIES, client_frames

SCHEMAS = "#/components/schemas/{name}"


class ErrorDetail(msgspec.Struct, frozen=True):
    code: str
    message: str
    # rate_limited only: the wait after which the same request is admitted (also Retry-After),
    # and the budget that ran out (domain/rate_limits.py).
    retry_after_ms: int | None = None
    limit: str | None = None


class ErrorBody(msgspec.Struct, frozen=True):
    error: ErrorDetail


def _body_name(route: HttpRoute) -> str:
    return BY_ACTION[route.command].__name__ + "Body"


def _path_schema(route: HttpRoute, name: str) -> dict[str, Any]:
    kind = BY_ACTION.get(route.command)
    fields = field_types(kind) if kind else {}
    return {"type": "integer"} if fields.get(name) is int else {"type": "string"}


def _operation(route: HttpRoute, schemas: dict[str, Any]) -> dict[str, Any]:
    words = [w for w in re.split(r"[/{}.]", route.path) if w]
    error = {"$ref": SCHEMAS.format(name="ErrorBody")}
    done: dict[str, Any] = {"200": {"description": "done"}}
    if route.creates:
        done = {"201": {"description": "created"}, "200": {"description": "nothing new"}}
    operation: dict[str, Any] = {
        "operationId": route.method.lower() + "_" + "_".join(words).replace("-", "_"),
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": _path_schema(route, name)}
            for name in route.parameters
        ]
        + [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in route.query
        ],
        "responses": {
            **done,
            "default": {
                "description": "refused: 400, 401, 403, 404, 409, 413 or 429",
                "content": {"application/json": {"schema": error}},
            },
        },
    }
    limit = rate_limits.BY_ACTION.get(route.command)
    if limit is not None:
        operation["responses"]["429"] = {
            "description": f"rate_limited: {limit.applies_to}, at most {limit.burst} at once, "
            f"then {describe_rate(limit.per_second)} per user",
            "headers": {
                "Retry-After": {
                    "description": "seconds until the same request is admitted",
                    "schema": {"type": "integer"},
                }
            },
            "content": {"application/json": {"schema": error}},
        }
    if not route.public:
        operation["security"] = [{"cognito": []}]
    if route.command:
        name = _body_name(route)
        operation["requestBody"] = {
            "required": bool(schemas[name].get("required")),
            "content": {"application/json": {"schema": {"$ref": SCHEMAS.format(name=name)}}},
        }
    return operation


def openapi_document() -> dict[str, Any]:
    routes = topology.HTTP_ROUTES
    bodies = [(_body_name(r), BY_ACTION[r.command], r.parameters) for r in routes if r.command]
    _, errors = msgspec.json.schema_components([ErrorBody], ref_template=SCHEMAS)
    schemas = {**errors, **body_schemas(bodies, SCHEMAS)}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "chat HTTP API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def ws_frames_document() -> dict[str, Any]:
    """`client`: what a client may send (route selection on `action`). `replies`: the server's
    answer to the sender on the same socket. `events`: what every member concerned receives,
    `{"type": <event type>, ...}` (as `GET /rooms/{room_id}/events` returns them, plus the
    ephemeral `typing`), with the event's own fields under `data` (`data`: one per event type)."""
    pushed, definitions = msgspec.json.schema_components(
        [PublicEvent, TypingSignal], ref_template="#/$defs/{name}"
    )
    documents = {
        "client": frames_schema(client_frames().values(), "frames a client sends"),
        "replies": frames_schema(REPLIES, "the server's replies to the sender"),
        "events": {
            "$schema": DIALECT,
            "title": "frames the server pushes",
            "anyOf": list(pushed),
            "$defs": definitions,
        },
        "data": {"$schema": DIALECT, "title": "data, by event type", **msgspec.json.schema(Event)},
    }
    # Each is a schema resource of its own, so that its `#/$defs/...` references resolve in it.
    return {name: {"$id": f"ws-frames/{name}", **schema} for name, schema in documents.items()}

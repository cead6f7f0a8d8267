"""The OpenAPI document of the HTTP API, built from the topology's routes and the body types."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import msgspec

from components.topology import HTTP_ROUTES
from functions.http_api.bodies import (
    CreateRoomBody,
    EditBody,
    InviteBody,
    OpenDmBody,
    ReadBody,
    SendBody,
    UploadBody,
)


class ErrorDetail(msgspec.Struct, frozen=True):
    code: str
    message: str


class ErrorBody(msgspec.Struct, frozen=True):
    error: ErrorDetail


BODIES: dict[tuple[str, str], type[msgspec.Struct]] = {
    ("POST", "/rooms"): CreateRoomBody,
    ("POST", "/dms"): OpenDmBody,
    ("POST", "/rooms/{room_id}/members"): InviteBody,
    ("POST", "/rooms/{room_id}/messages"): SendBody,
    ("PATCH", "/rooms/{room_id}/messages/{seq}"): EditBody,
    ("POST", "/rooms/{room_id}/read"): ReadBody,
    ("POST", "/rooms/{room_id}/uploads"): UploadBody,
}

QUERY = {
    "/rooms/{room_id}/messages": ("before", "limit"),
    "/rooms/{room_id}/events": ("after",),
    "/rooms/{room_id}/files/{file_id}": ("name", "as"),  # as=url: the URL as JSON, no redirect
}


def _operation(method: str, path: str, public: bool) -> dict[str, Any]:
    words = [w for w in re.split(r"[/{}]", path) if w]
    operation: dict[str, Any] = {
        "operationId": method.lower() + "_" + "_".join(words).replace("-", "_"),
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", path)
        ]
        + [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in QUERY.get(path, ())
        ],
        "responses": {
            "200": {"description": "done"},
            "default": {
                "description": "refused: 400, 401, 403, 404, 409, 413 or 429",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                },
            },
        },
    }
    if not public:
        operation["security"] = [{"cognito": []}]
    body = BODIES.get((method, path))
    if body is not None:
        ref = {"$ref": f"#/components/schemas/{body.__name__}"}
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref}},
        }
    return operation


@cache
def document() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [*BODIES.values(), ErrorBody], ref_template="#/components/schemas/{name}"
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in HTTP_ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(
            route.method, route.path, route.public
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": "chat HTTP API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }

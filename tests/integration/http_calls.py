"""The HTTP API function called as API Gateway calls it: events of the exact payload-2.0 shape,
no authorizer, the caller's Cognito token (minted as the test pool signs) in `Authorization`.
Tests get the stage and pool these need from the `signed_http` fixture (conftest.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from functions.http_api import handler
from functions.http_api.deps import Deps, from_environment
from tests.integration.pools import Pool, minted
from tests.integration.support import FakeContext

SAMPLE = json.loads(
    (Path(__file__).resolve().parents[3] / "shared/aws-events/http-api-v2-jwt.json").read_text()
)


def call(
    method: str, path: str, user: str | None = "alice", body: Any = None, query: str = ""
) -> tuple[int, Any]:
    response = respond(method, path, user, body, query)
    return response["statusCode"], json.loads(response["body"])


def respond(
    method: str,
    path: str,
    user: str | None = "alice",
    body: Any = None,
    query: str = "",
    deps: Deps | None = None,
) -> dict[str, Any]:
    """The function's whole answer (status, headers, body) to one request."""
    event = copy.deepcopy(SAMPLE)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["rawQueryString"] = query
    event["queryStringParameters"] = (
        dict(p.split("=", 1) for p in query.split("&")) if query else None
    )
    event["pathParameters"] = None
    event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
    return handler.handle(event_as(event, user), FakeContext(), deps or built())  # type: ignore[arg-type]


def event_as(event: dict[str, Any], user: str | None) -> dict[str, Any]:
    """The event as API Gateway passes it on (no authorizer), with `user`'s token, if any."""
    del event["requestContext"]["authorizer"]
    event["headers"].pop("authorization", None)
    if user:
        event["headers"]["authorization"] = f"Bearer {token_of(user)}"
    return event


def token_of(user: str) -> str:
    return minted(POOL[0], **{"cognito:username": user, "sub": f"sub-{user}"})


POOL: list[Pool] = []
BUILT: list[Deps] = []


def built() -> Deps:
    """The function's collaborators over this test's stage, built as on AWS from its environment
    (as the test's fixtures left it), once per test."""
    if not BUILT:
        BUILT.append(from_environment())
    return BUILT[0]


def serve(pool: Pool) -> None:
    POOL[:] = [pool]


def forget() -> None:
    POOL.clear()
    BUILT.clear()

"""How the HTTP API answers: JSON bodies, a write's outcome, and errors as
`{"error": {"code", "message"}}` with the status that fits the code."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec
from aws_lambda_powertools.event_handler import Response

from application.service import Outcome
from domain.errors import DomainError, RateLimited
from domain.public import detail
from domain.rate_limits import retry_after_seconds

STATUS: dict[str, HTTPStatus] = {
    "invalid": HTTPStatus.BAD_REQUEST,
    "invalid_json": HTTPStatus.BAD_REQUEST,
    "unauthorized": HTTPStatus.UNAUTHORIZED,
    "not_author": HTTPStatus.FORBIDDEN,
    "room_not_found": HTTPStatus.NOT_FOUND,
    "message_not_found": HTTPStatus.NOT_FOUND,
    "not_found": HTTPStatus.NOT_FOUND,
    "message_deleted": HTTPStatus.CONFLICT,
    "already_member": HTTPStatus.CONFLICT,
    "room_exists": HTTPStatus.CONFLICT,
    "dm_rule": HTTPStatus.CONFLICT,
    "room_full": HTTPStatus.CONFLICT,
    "idempotency_key_reused": HTTPStatus.CONFLICT,
    "too_large": HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    "busy": HTTPStatus.TOO_MANY_REQUESTS,
    "rate_limited": HTTPStatus.TOO_MANY_REQUESTS,
}


class NoRoute(DomainError):
    code = "not_found"


def reply(
    payload: Any, status: HTTPStatus = HTTPStatus.OK, headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=msgspec.json.encode(payload).decode(),
        headers=headers,
    )


def written(outcome: Outcome, creates: bool = False) -> Response[Any]:
    """A write's outcome; 201 when the route creates and this call wrote something new."""
    created = creates and bool(outcome.events) and not outcome.duplicate
    return reply(
        {
            "room_id": outcome.room_id,
            "seq": outcome.seq,
            "duplicate": outcome.duplicate,
            "events": [detail(e) for e in outcome.events],
        },
        HTTPStatus.CREATED if created else HTTPStatus.OK,
    )


def refused(error: DomainError) -> Response[Any]:
    status = STATUS.get(error.code, HTTPStatus.BAD_REQUEST)
    fields: dict[str, Any] = {"code": error.code, "message": error.message}
    headers: dict[str, str] = {}
    if isinstance(error, RateLimited):
        fields["retry_after_ms"] = error.retry_after_ms
        fields["limit"] = error.limit
        headers["Retry-After"] = str(retry_after_seconds(error.retry_after_ms))
    return reply({"error": fields}, status, headers)


def no_content() -> Response[Any]:
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


def redirect(url: str) -> Response[Any]:
    return Response(
        status_code=HTTPStatus.FOUND,
        content_type="application/json",
        body="{}",
        headers={"Location": url, "Cache-Control": "private, no-store"},
    )

"""A request's body read within a size limit, as API Gateway (and Cognito) read one: a body over
the limit, declared in Content-Length or only found while streaming, is refused before it is all
read into memory."""

from __future__ import annotations

from starlette.requests import Request


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

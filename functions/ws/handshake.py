"""How a WebSocket client proves who it is without putting its token in the URL (where access
logs and a browser's console would show it): it offers two subprotocols, the chat's own and
`token.<the Cognito JWT>`. The server accepts the chat's own and never echoes the token. The
`?token=` query parameter still works, for tools that cannot offer subprotocols."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

SUBPROTOCOL: Final = "chat.v1"
TOKEN_PREFIX: Final = "token."
HEADER: Final = "sec-websocket-protocol"


def offered(headers: Mapping[str, str] | None) -> list[str]:
    """The subprotocols the client offered, in its order (headers by any case)."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == HEADER), "")
    return [part.strip() for part in value.split(",") if part.strip()]


def token_of(headers: Mapping[str, str] | None, query: Mapping[str, str] | None) -> str:
    """The token of a `$connect`: from the offered subprotocols, else from `?token=`."""
    for protocol in offered(headers):
        if protocol.startswith(TOKEN_PREFIX):
            return protocol.removeprefix(TOKEN_PREFIX)
    return (query or {}).get("token", "")


def accepted(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The headers a `$connect` answers with: the chat's subprotocol when the client offered it
    (a browser that offered subprotocols fails the handshake unless one is chosen)."""
    return {"Sec-WebSocket-Protocol": SUBPROTOCOL} if SUBPROTOCOL in offered(headers) else {}

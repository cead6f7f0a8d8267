"""The WebSocket handshake: the token offered as a subprotocol, never echoed back."""

from __future__ import annotations

from functions.ws.handshake import SUBPROTOCOL, accepted, offered, token_of


def test_the_token_is_read_from_the_offered_subprotocols_whatever_the_header_s_case() -> None:
    for name in ("Sec-WebSocket-Protocol", "sec-websocket-protocol"):
        headers = {name: f"{SUBPROTOCOL},  token.aaa.bbb.ccc "}
        assert offered(headers) == [SUBPROTOCOL, "token.aaa.bbb.ccc"]
        assert token_of(headers, {"token": "from-the-query"}) == "aaa.bbb.ccc"


def test_without_a_token_subprotocol_the_query_s_token_is_taken_and_else_none() -> None:
    assert token_of({"Sec-WebSocket-Protocol": SUBPROTOCOL}, {"token": "q.q.q"}) == "q.q.q"
    assert token_of(None, None) == ""


def test_only_the_chat_s_own_subprotocol_is_ever_answered() -> None:
    assert accepted({"Sec-WebSocket-Protocol": f"{SUBPROTOCOL}, token.a.b.c"}) == {
        "Sec-WebSocket-Protocol": SUBPROTOCOL
    }
    assert accepted({"Sec-WebSocket-Protocol": "token.a.b.c"}) == {}
    assert accepted({}) == {}

"""The local WebSocket API (API Gateway): the $connect authorizer, $connect and $disconnect,
route selection on `action`, two-way replies, the idle, two-hour and frame-size limits, and the
outbox each connection's frames go out through; over fake functions."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from components import topology
from local import websocket_api
from local.websocket_api import WS_ROUTE_KEYS, Outbox, WebSocketApi
from tests.unit.local_support import FakeLambdas, fail, serving

AUTHORIZER = "ws-authorizer"
CONNECTIONS = WS_ROUTE_KEYS["$connect"].function
MESSAGES = WS_ROUTE_KEYS["$default"].function


def authorize(event: dict[str, Any]) -> dict[str, Any]:
    if event["queryStringParameters"].get("token") != "good":
        raise RuntimeError("Unauthorized")
    return {"principalId": "alice", "context": {"user_id": "alice"}}


def connected(_: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200}


def echo(event: dict[str, Any]) -> dict[str, Any]:
    route = event["requestContext"]["routeKey"]
    return {"statusCode": 200, "body": json.dumps({"route": route, "got": event["body"]})}


class Api:
    def __init__(self, **answers: Any) -> None:
        self.lambdas = FakeLambdas(
            {AUTHORIZER: authorize, CONNECTIONS: connected, MESSAGES: echo} | answers
        )
        self.sockets: dict[str, Outbox] = {}
        self.invoked = 0
        self.api = WebSocketApi(self.lambdas, self.sockets, self.count)  # type: ignore[arg-type]
        self.app = Starlette(routes=[WebSocketRoute("/ws", self.api.connect)])
        self.url = ""

    def count(self) -> None:
        self.invoked += 1

    def connect(self, token: str = "good") -> ClientConnection:
        return connect(f"{self.url}?token={token}", open_timeout=5)


@contextmanager
def served(api: Api) -> Iterator[Api]:
    with serving(api.app) as host:
        api.url = f"ws://{host}/ws"
        yield api


@pytest.fixture
def api() -> Iterator[Api]:
    with served(Api()) as api:
        yield api


def reply(ws: ClientConnection) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(ws.recv(timeout=5))
    return answer


def wait_until(condition: Any) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def closed_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_a_handshake_the_authorizer_refuses_fails_and_connects_nothing(api: Api) -> None:
    with pytest.raises(InvalidStatus):
        api.connect(token="bad")

    assert [name for name, _ in api.lambdas.calls] == [AUTHORIZER]
    assert api.sockets == {}


@pytest.mark.parametrize(
    ("source", "present"),
    [
        ("route.request.querystring.token", "?token=good"),
        ("route.request.header.Sec-WebSocket-Protocol", ""),
    ],
)
def test_a_handshake_missing_an_identity_source_is_refused_without_the_authorizer(
    api: Api, monkeypatch: pytest.MonkeyPatch, source: str, present: str
) -> None:
    monkeypatch.setattr(topology, "WS_AUTHORIZER_IDENTITY", (source,))
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{api.url}?other=1", open_timeout=5)

    assert refused.value.response.status_code == 401
    assert api.lambdas.calls == []
    protocols = [Subprotocol("chat.v1")] if "header" in source else None
    with connect(f"{api.url}{present or '?token=good'}", subprotocols=protocols, open_timeout=5):
        assert [name for name, _ in api.lambdas.calls] == [AUTHORIZER, CONNECTIONS]


def test_a_handshake_fails_when_connect_does_not_answer_200() -> None:
    with served(Api(**{CONNECTIONS: lambda _: {"statusCode": 403}})) as api:
        with pytest.raises(InvalidStatus):
            api.connect()
        assert api.sockets == {}


def test_a_connection_is_connected_and_disconnected_with_the_authorizers_context(
    api: Api,
) -> None:
    with api.connect():
        wait_until(lambda: api.sockets)
        (connection_id,) = api.sockets
        (connect_event,) = api.lambdas.events(CONNECTIONS)
    wait_until(lambda: len(api.lambdas.events(CONNECTIONS)) == 2)

    disconnect_event = api.lambdas.events(CONNECTIONS)[1]
    assert api.sockets == {}
    for event, route in ((connect_event, "$connect"), (disconnect_event, "$disconnect")):
        context = event["requestContext"]
        assert (context["routeKey"], context["connectionId"]) == (route, connection_id)
        assert context["authorizer"] == {"principalId": "alice", "user_id": "alice"}


@pytest.mark.parametrize(
    ("frame", "route"),
    [
        ('{"action": "send", "text": "hi"}', "send"),
        ('{"action": "dance"}', "$default"),
        ('{"action": "$connect"}', "$default"),
        ("{not json", "$default"),
        ('["send"]', "$default"),
    ],
)
def test_a_frame_takes_the_route_its_action_names_and_its_reply_comes_back(
    api: Api, frame: str, route: str
) -> None:
    with api.connect() as ws:
        ws.send(frame)
        assert reply(ws) == {"route": route, "got": frame}

    assert api.invoked == 1  # the pumps are woken: the function may have written


def test_a_failing_function_answers_internal_server_error_and_the_socket_stays_open() -> None:
    answers = iter([fail, echo])

    def first_fails(event: dict[str, Any]) -> Any:
        return next(answers)(event)

    with served(Api(**{MESSAGES: first_fails})) as api:
        with api.connect() as ws:
            ws.send('{"action": "ping"}')
            error = reply(ws)
            ws.send('{"action": "ping"}')
            assert reply(ws)["route"] == "ping"
            (connection_id,) = api.sockets
        assert error["message"] == "Internal server error"
        assert error["connectionId"] == connection_id and error["requestId"]
        assert api.invoked == 2


def test_a_frame_over_32_kb_closes_the_connection(api: Api) -> None:
    with api.connect() as ws:
        ws.send(json.dumps({"action": "ping", "pad": "x" * 32 * 1024}))
        assert closed_code(ws) == 1009

    assert api.lambdas.events(MESSAGES) == []


def test_an_idle_connection_is_closed(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(websocket_api, "IDLE_TIMEOUT_S", 0.3)
    with api.connect() as ws:
        assert closed_code(ws) == 1001


def test_a_connection_is_closed_at_its_maximum_age_even_while_busy(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(websocket_api, "MAX_CONNECTION_S", 0.5)
    with api.connect() as ws:
        ws.send('{"action": "ping"}')
        assert reply(ws)["route"] == "ping"
        assert closed_code(ws) == 1001


# --- the outbox -------------------------------------------------------------------------------


class Socket:
    def __init__(self, stuck: bool = False) -> None:
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self.stuck = stuck

    async def send_text(self, text: str) -> None:
        if self.stuck:  # a client that stopped reading: the write never completes
            await asyncio.Event().wait()
        self.sent.append(text)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = code


def test_frames_go_out_in_the_order_they_were_posted() -> None:
    async def scenario() -> list[str]:
        socket = Socket()
        outbox = Outbox(socket)  # type: ignore[arg-type]
        for n in range(5):
            assert outbox.put(f"frame {n}")
        await asyncio.sleep(0.05)
        outbox.close()
        return socket.sent

    assert asyncio.run(scenario()) == [f"frame {n}" for n in range(5)]


def test_a_client_too_far_behind_is_disconnected_and_further_posts_are_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(websocket_api, "OUTBOX_FRAMES", 3)

    async def scenario() -> tuple[list[bool], int | None]:
        socket = Socket(stuck=True)
        outbox = Outbox(socket)  # type: ignore[arg-type]
        accepted = [outbox.put(f"frame {n}") for n in range(6)]
        await asyncio.sleep(0.05)
        outbox.close()
        return accepted, socket.closed_with

    accepted, closed_with = asyncio.run(scenario())

    assert accepted == [True, True, True, False, False, False]
    assert closed_with == 1008

"""End to end on the local stage: real HTTP and WebSocket clients, real Cognito tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from local.stage import LocalStage


@pytest.fixture(scope="module")
def stage() -> Iterator[LocalStage]:
    with LocalStage(prefix="e2e") as running:
        yield running


def token(stage: LocalStage, user: str) -> str:
    return stage.sign_in(user)["IdToken"]


def api(stage: LocalStage, user: str, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(
        method,
        f"{stage.base}/api{path}",
        headers={"Authorization": f"Bearer {token(stage, user)}"},
        json=body,
        timeout=10,
    )
    assert response.status_code < 300, response.text
    return response.json()


def socket(stage: LocalStage, user: str) -> ClientConnection:
    return connect(f"{stage.config['wsUrl']}?token={token(stage, user)}", open_timeout=10)


def reply(ws: ClientConnection, kind: str = "ack") -> dict[str, Any]:
    """The next frame of `kind`, skipping the broadcasts that arrive on the same socket."""
    while True:
        frame = json.loads(ws.recv(timeout=10))
        if frame["type"] in (kind, "error"):
            return dict(frame)


def frames(ws: ClientConnection, wait: float = 1.5) -> list[dict[str, Any]]:
    out = []
    while True:
        try:
            out.append(json.loads(ws.recv(timeout=wait)))
        except TimeoutError:
            return out
        wait = 0.5


def test_the_config_names_everything_a_client_needs(stage: LocalStage) -> None:
    config = requests.get(f"{stage.base}/config.json", timeout=10).json()

    assert {"apiUrl", "wsUrl", "region", "userPoolId", "userPoolClientId"} <= set(config)


def test_a_message_reaches_every_tab_of_every_member_once_and_never_an_outsider(
    stage: LocalStage,
) -> None:
    room = api(stage, "alice", "POST", "/rooms", {"name": "General", "members": ["bob"]})["room_id"]
    with (
        socket(stage, "alice") as alice,
        socket(stage, "bob") as bob_phone,
        socket(stage, "bob") as bob_laptop,
        socket(stage, "carol") as carol,
    ):
        alice.send(
            json.dumps({"action": "send", "room_id": room, "text": "hi bob", "client_id": "c1"})
        )
        ack = reply(alice)
        assert ack == {
            "type": "ack",
            "client_id": "c1",
            "room_id": room,
            "seq": 2,
            "duplicate": False,
        }

        for tab in (bob_phone, bob_laptop):
            got = [f for f in frames(tab) if f["type"] == "message.created"]
            assert [(f["seq"], f["data"]["text"]) for f in got] == [(2, "hi bob")]
        assert frames(carol, wait=1.0) == []

        alice.send(
            json.dumps({"action": "send", "room_id": room, "text": "hi bob", "client_id": "c1"})
        )
        again = reply(alice)
        assert again["seq"] == 2 and again["duplicate"] is True
        assert [f for f in frames(bob_phone, wait=1.0) if f["type"] == "message.created"] == []


def test_a_bad_frame_gets_an_error_and_the_socket_keeps_working(stage: LocalStage) -> None:
    with socket(stage, "alice") as ws:
        ws.send("{not json")
        assert reply(ws)["type"] == "error"
        ws.send(json.dumps({"action": "dance"}))
        assert reply(ws)["code"] == "bad_frame"
        ws.send(json.dumps({"action": "ping"}))
        assert reply(ws, "pong") == {"type": "pong"}


def test_an_oversize_frame_closes_the_connection_as_api_gateway_does(stage: LocalStage) -> None:
    with socket(stage, "alice") as ws:
        ws.send(json.dumps({"action": "ping", "pad": "x" * 40_000}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


@pytest.mark.parametrize("bad", ["", "not-a-token"])
def test_a_connection_without_a_valid_token_is_refused(stage: LocalStage, bad: str) -> None:
    with pytest.raises(InvalidStatus):
        connect(f"{stage.config['wsUrl']}?token={bad}", open_timeout=10)


def test_the_http_api_refuses_a_request_without_a_token(stage: LocalStage) -> None:
    response = requests.get(f"{stage.base}/api/rooms", timeout=10)

    assert response.status_code == 401

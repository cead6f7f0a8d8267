"""The local gateway composes the emulated services on one origin, over shared state: the
WebSocket API's connections are the ones `@connections` posts to, every function call wakes the
pumps, and the web client's build is served at / when there is one."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import requests
import uvicorn
from websockets.sync.client import connect

from local.gateway import Gateway, body_within, create_app, ui_build
from local.moto_process import free_port
from local.websocket_api import WS_ROUTE_KEYS
from tests.unit.local_support import FakeLambdas, serving


def test_a_built_client_is_found_and_served_at_the_root(tmp_path: Path) -> None:
    build = tmp_path / "dist" / "chat" / "browser"
    build.mkdir(parents=True)
    (build / "index.html").write_text("<title>chat</title>")
    found = ui_build(tmp_path)
    assert found == build

    port = free_port()
    app = create_app(Gateway({"apiUrl": "x"}), found)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        assert "<title>chat</title>" in requests.get(f"http://127.0.0.1:{port}/", timeout=5).text
        assert requests.get(f"http://127.0.0.1:{port}/config.json", timeout=5).json() == {
            "apiUrl": "x"
        }
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def test_without_a_build_nothing_is_served_at_the_root(tmp_path: Path) -> None:
    assert ui_build(tmp_path) is None


def test_every_service_is_served_on_one_origin_over_shared_state() -> None:
    invoked: list[int] = []
    lambdas = FakeLambdas(
        {
            "ws-authorizer": lambda _: {"principalId": "alice"},
            WS_ROUTE_KEYS["$connect"].function: lambda _: {"statusCode": 200},
            WS_ROUTE_KEYS["$default"].function: lambda _: {"statusCode": 200, "body": "pong"},
            "http-api": lambda event: {"statusCode": 200, "body": event["routeKey"]},
        }
    )
    gateway = Gateway(
        {"apiUrl": "x"},
        on_invoked=lambda: invoked.append(1),
        lambdas=lambdas,  # type: ignore[arg-type]
    )
    with serving(create_app(gateway)) as host:
        base = f"http://{host}"
        with connect(f"ws://{host}/ws?token=t", open_timeout=5) as ws:
            ws.send('{"action": "ping"}')
            assert ws.recv(timeout=5) == "pong"
            (connection_id,) = gateway.sockets
            posted = requests.post(f"{base}/@connections/{connection_id}", data=b"hi", timeout=5)
            assert posted.status_code == 200 and ws.recv(timeout=5) == "hi"
        answers: dict[str, Any] = {
            "api": requests.get(f"{base}/api/openapi.json", timeout=5).text,
            "api-unrouted": requests.get(f"{base}/api/nowhere", timeout=5).text,
            "config": requests.get(f"{base}/config.json", timeout=5).json(),
            "s3": requests.post(f"{base}/s3/files", data={"key": "k"}, timeout=5).status_code,
            "cognito": requests.post(
                f"{base}/cognito/",
                headers={"X-Amz-Target": "AWSCognitoIdentityProviderService.ListUsers"},
                data=json.dumps({}),
                timeout=5,
            ).json()["__type"],
        }

    assert answers == {
        "api": "GET /openapi.json",
        "api-unrouted": "$default",
        "config": {"apiUrl": "x"},
        "s3": 400,  # a form with no file
        "cognito": "NotAuthorizedException",
    }
    assert len(invoked) == 3  # one WebSocket message, two HTTP requests
    assert callable(body_within)  # still importable where it always was


def test_any_path_under_the_api_reaches_its_default_route_and_no_other_is_routed() -> None:
    lambdas = FakeLambdas({"http-api": lambda event: {"statusCode": 404, "body": event["rawPath"]}})
    gateway = Gateway({}, lambdas=lambdas)  # type: ignore[arg-type]
    with serving(create_app(gateway)) as host:
        unroutable = requests.get(f"http://{host}/api/rooms/%0A/messages", timeout=5)
        elsewhere = requests.get(f"http://{host}/nowhere", timeout=5)

    assert unroutable.status_code == 404 and unroutable.text.startswith("/rooms/")
    assert (elsewhere.status_code, elsewhere.json()) == (404, {"message": "Not Found"})

"""End to end on the local stage: real HTTP and WebSocket clients, real Cognito tokens."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import jwt
import pytest
import requests
from botocore.config import Config
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from adapters.connections import DynamoConnections
from functions.ws.handshake import SUBPROTOCOL, TOKEN_PREFIX
from local import connections_api, http_api, websocket_api
from local.chaos import HOSTILE
from local.stage import LocalStage
from tests.e2e.support import api, token, upload_form
from tests.integration.pools import motos_bundled_key, pool_key


@pytest.fixture(scope="module")
def stage() -> Iterator[LocalStage]:
    with LocalStage(prefix="e2e", chaos=HOSTILE) as running:
        yield running


def socket(stage: LocalStage, user: str) -> ClientConnection:
    """A connection as the web client makes it: the token offered as a subprotocol."""
    return offering(stage, token(stage, user))


def offering(stage: LocalStage, bearer: str) -> ClientConnection:
    protocols = [Subprotocol(SUBPROTOCOL), Subprotocol(TOKEN_PREFIX + bearer)]
    return connect(stage.config["wsUrl"], subprotocols=protocols, open_timeout=10)


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


class Tab:
    """One member's socket as a client reads it: the room's frames each the first time its seq
    arrives (AWS may deliver a frame again; a client drops it by seq), and the acks. The stage is
    hostile, so a failed delivery comes back after the queue's 30 s visibility timeout, and can
    fail again."""

    def __init__(self, ws: ClientConnection, room: str) -> None:
        self.ws, self.room = ws, room
        self.frames: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []

    def read_until(self, done: Callable[[], bool], timeout: float = 100) -> None:
        deadline = time.monotonic() + timeout
        while not done() and (left := deadline - time.monotonic()) > 0:
            try:
                frame = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                return
            if frame["type"] in ("ack", "error"):
                self.acks.append(frame)
            elif frame.get("room_id") == self.room and frame["seq"] not in self.seqs:
                self.frames.append(frame)

    @property
    def seqs(self) -> list[int]:
        return [frame["seq"] for frame in self.frames if "seq" in frame]


def first_arrivals(ws: ClientConnection, room: str, last_seq: int) -> list[dict[str, Any]]:
    tab = Tab(ws, room)
    tab.read_until(lambda: last_seq in tab.seqs)
    return tab.frames


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
            got = [f for f in first_arrivals(tab, room, 2) if f["type"] == "message.created"]
            assert [(f["seq"], f["data"]["text"]) for f in got] == [(2, "hi bob")]
        assert frames(carol, wait=1.0) == []

        alice.send(
            json.dumps({"action": "send", "room_id": room, "text": "hi bob", "client_id": "c1"})
        )
        again = reply(alice)
        assert again["seq"] == 2 and again["duplicate"] is True
        assert [f for f in frames(bob_phone, wait=1.0) if f.get("seq", 0) > 2] == []


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


def test_a_frame_just_under_the_limit_reaches_the_function(stage: LocalStage) -> None:
    with socket(stage, "alice") as ws:
        ws.send(json.dumps({"action": "ping", "pad": "x" * 32_000}))
        assert reply(ws)["code"] == "bad_frame"  # the function's answer: no such field
        ws.send(json.dumps({"action": "ping"}))
        assert reply(ws, "pong") == {"type": "pong"}


def test_a_message_over_128_kb_is_refused_even_in_small_frames(stage: LocalStage) -> None:
    with socket(stage, "alice") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.send(["x" * 30_000] * 5)  # five fragments of one message
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_an_idle_connection_is_closed_as_api_gateway_does(
    stage: LocalStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(websocket_api, "IDLE_TIMEOUT_S", 1)  # ten minutes on AWS
    with socket(stage, "alice") as ws:
        ws.send(json.dumps({"action": "ping"}))
        assert reply(ws, "pong") == {"type": "pong"}
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


@pytest.mark.parametrize("bad", ["", "not-a-token"])
def test_a_connection_without_a_valid_token_is_refused(stage: LocalStage, bad: str) -> None:
    with pytest.raises(InvalidStatus) as in_the_query:
        connect(f"{stage.config['wsUrl']}?token={bad}", open_timeout=10)
    with pytest.raises(InvalidStatus) as in_a_subprotocol:
        offering(stage, bad)
    assert in_the_query.value.response.status_code == 401  # as API Gateway answers "Unauthorized"
    assert in_a_subprotocol.value.response.status_code == 401


def test_the_token_goes_in_a_subprotocol_and_only_the_chats_own_comes_back(
    stage: LocalStage,
) -> None:
    with socket(stage, "alice") as ws:
        ws.send(json.dumps({"action": "ping"}))
        assert reply(ws, "pong") == {"type": "pong"}
        assert ws.subprotocol == SUBPROTOCOL  # never the token echoed
        assert "token" not in (ws.request.path if ws.request else "")


def test_a_tool_that_cannot_offer_subprotocols_may_still_give_the_token_in_the_query(
    stage: LocalStage,
) -> None:
    with connect(f"{stage.config['wsUrl']}?token={token(stage, 'bob')}", open_timeout=10) as ws:
        ws.send(json.dumps({"action": "ping"}))
        assert reply(ws, "pong") == {"type": "pong"}
        assert ws.subprotocol is None


def test_the_http_api_refuses_a_request_without_a_token(stage: LocalStage) -> None:
    response = requests.get(f"{stage.base}/api/rooms", timeout=10)

    assert response.status_code == 401


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_an_http_request_over_10_mb_is_refused_before_any_function_runs(
    stage: LocalStage, chunked: bool
) -> None:
    body = b"x" * (http_api.MAX_HTTP_BODY_BYTES + 1)
    data: Any = iter([body[:1_000_000], body[1_000_000:]]) if chunked else body

    response = requests.post(
        f"{stage.base}/api/rooms",
        data=data,
        headers={"Authorization": f"Bearer {token(stage, 'alice')}"},
        timeout=30,
    )

    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}


def test_a_post_over_128_kb_to_a_connection_is_refused_as_payload_too_large(
    stage: LocalStage,
) -> None:
    posts = boto3.client("apigatewaymanagementapi", endpoint_url=stage.base)

    with pytest.raises(posts.exceptions.PayloadTooLargeException):
        posts.post_to_connection(
            ConnectionId="any", Data=b"x" * (connections_api.MAX_POST_BYTES + 1)
        )


def test_edits_and_deletes_reach_the_other_members(stage: LocalStage) -> None:
    room = api(stage, "alice", "POST", "/rooms", {"name": "Edits", "members": ["bob"]})["room_id"]
    with socket(stage, "bob") as bob:
        sent = api(stage, "alice", "POST", f"/rooms/{room}/messages", {"text": "teh"})
        api(stage, "alice", "PATCH", f"/rooms/{room}/messages/{sent['seq']}", {"text": "the"})
        deleted = api(stage, "alice", "DELETE", f"/rooms/{room}/messages/{sent['seq']}")

        got = [
            f for f in first_arrivals(bob, room, deleted["seq"]) if f["type"].startswith("message.")
        ]

    assert [(f["type"], f["data"].get("seq")) for f in got] == [
        ("message.created", None),
        ("message.updated", sent["seq"]),
        ("message.deleted", sent["seq"]),
    ]


def test_a_member_who_was_offline_catches_up_exactly_the_missed_events(stage: LocalStage) -> None:
    room = api(stage, "alice", "POST", "/rooms", {"name": "Later", "members": ["bob"]})["room_id"]
    seen = api(stage, "alice", "POST", f"/rooms/{room}/messages", {"text": "before"})["seq"]
    missed = [
        api(stage, "alice", "POST", f"/rooms/{room}/messages", {"text": f"missed {i}"})["seq"]
        for i in range(3)
    ]

    caught_up = api(stage, "bob", "GET", f"/rooms/{room}/events?after={seen}")["events"]

    assert [e["seq"] for e in caught_up] == missed
    assert [e["data"]["text"] for e in caught_up] == ["missed 0", "missed 1", "missed 2"]


def test_opening_a_dm_twice_over_http_gives_the_same_room(stage: LocalStage) -> None:
    first = api(stage, "alice", "POST", "/dms", {"peer": "carol"})
    second = api(stage, "carol", "POST", "/dms", {"peer": "alice"})

    assert first["room_id"] == second["room_id"] and second["events"] == []


def test_a_closed_socket_is_forgotten_when_a_message_finds_it_gone(stage: LocalStage) -> None:
    room = api(stage, "alice", "POST", "/rooms", {"name": "Gone", "members": ["bob"]})["room_id"]
    connections = DynamoConnections(os.environ["CONNECTIONS_TABLE"])
    before = set(connections.of_user("bob"))
    with socket(stage, "bob") as bob:
        bob.send(json.dumps({"action": "ping"}))
        reply(bob, "pong")
        opened = set(connections.of_user("bob")) - before
    assert len(opened) == 1
    # The gateway forgets a socket at once; a stale row, as after a lost $disconnect, stays.
    (stale,) = opened
    connections.add("bob", stale, int(time.time() * 1000))

    api(stage, "alice", "POST", f"/rooms/{room}/messages", {"text": "anyone there?"})

    deadline = time.monotonic() + 100  # a failed delivery comes back after 30 s (or 60, 90)
    while stale in connections.of_user("bob") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stale not in connections.of_user("bob")


def test_a_picture_is_uploaded_under_its_policy_and_a_member_downloads_it(
    stage: LocalStage,
) -> None:
    room = api(stage, "alice", "POST", "/rooms", {"name": "Pics", "members": ["bob"]})["room_id"]
    picture = b"\x89PNG\r\n\x1a\n" + b"px" * 50
    form = upload_form(stage, room, len(picture))

    posted = requests.post(form["url"], data=form["fields"], files={"file": picture}, timeout=10)
    assert posted.status_code == 204, posted.text
    file_id = form["attachment"]["key"].rsplit("/", 1)[1]

    download = requests.get(
        f"{stage.base}/api/rooms/{room}/files/{file_id}",
        headers={"Authorization": f"Bearer {token(stage, 'bob')}"},
        timeout=10,
    )
    assert download.status_code == 200 and download.content == picture
    assert download.headers["content-type"] == "image/png"
    outsider = requests.get(
        f"{stage.base}/api/rooms/{room}/files/{file_id}",
        headers={"Authorization": f"Bearer {token(stage, 'carol')}"},
        allow_redirects=False,
        timeout=10,
    )
    assert outsider.status_code == 404


@pytest.mark.parametrize(
    ("tamper", "status", "code"),
    [
        ("bigger", 400, "EntityTooLarge"),
        ("type", 403, "AccessDenied"),
        ("key", 403, "AccessDenied"),
        ("policy", 403, "SignatureDoesNotMatch"),
    ],
)
def test_an_upload_outside_its_policy_is_refused_as_s3_would(
    stage: LocalStage, tamper: str, status: int, code: str
) -> None:
    room = api(stage, "alice", "POST", "/rooms", {"name": "Strict"})["room_id"]
    form = upload_form(stage, room, 10)
    fields, data = dict(form["fields"]), b"0123456789"
    if tamper == "bigger":
        data += b"!"
    elif tamper == "type":
        fields["Content-Type"] = "text/html"
    elif tamper == "key":
        fields["key"] = f"rooms/{room}/someone-elses-file"
    else:
        fields["policy"] = base64.b64encode(
            b'{"expiration": "2099-01-01T00:00:00Z", "conditions": []}'
        ).decode()

    posted = requests.post(form["url"], data=fields, files={"file": data}, timeout=10)

    assert posted.status_code == status and f"<Code>{code}</Code>" in posted.text


def minted(stage: LocalStage, key: Any = None, **claims: Any) -> str:
    """A token like the pool's own, signed with its key (or `key`), some claims changed."""
    now = int(time.time())
    body = {
        "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{stage.pool_id}",
        "sub": "sub-alice",
        "aud": stage.client_id,
        "token_use": "id",
        "cognito:username": "alice",
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    if key is None:
        key = pool_key()
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "dummy"})


@pytest.mark.parametrize(
    "claims",
    [
        {"key": rsa.generate_private_key(public_exponent=65537, key_size=2048)},  # forged
        {"key": motos_bundled_key()},  # anyone with moto installed has it
        {"iat": 1_000, "exp": 2_000},  # expired
        {"aud": "another-app"},  # wrong client
    ],
    ids=["forged", "motos-bundled-key", "expired", "wrong-client"],
)
def test_a_bad_token_is_refused_on_http_and_websocket(
    stage: LocalStage, claims: dict[str, Any]
) -> None:
    bad = minted(stage, **claims)
    # The same minting, untampered, is accepted: only the one change makes the difference.
    good = requests.get(
        f"{stage.base}/api/me", headers={"Authorization": f"Bearer {minted(stage)}"}, timeout=10
    )
    assert good.status_code == 200

    refused = requests.get(
        f"{stage.base}/api/me", headers={"Authorization": f"Bearer {bad}"}, timeout=10
    )
    assert refused.status_code == 401
    with pytest.raises(InvalidStatus):
        connect(f"{stage.config['wsUrl']}?token={bad}", open_timeout=10)
    with pytest.raises(InvalidStatus):
        offering(stage, bad)


def test_a_non_member_is_refused_on_http_and_websocket(stage: LocalStage) -> None:
    room = api(stage, "alice", "POST", "/rooms", {"name": "Members only"})["room_id"]
    status = requests.get(
        f"{stage.base}/api/rooms/{room}/messages",
        headers={"Authorization": f"Bearer {token(stage, 'carol')}"},
        timeout=10,
    ).status_code
    assert status == 404  # as for a room that does not exist
    with socket(stage, "carol") as carol:
        carol.send(json.dumps({"action": "send", "room_id": room, "text": "hi", "client_id": "x"}))
        assert reply(carol)["code"] == "room_not_found"


def test_every_member_gets_the_rooms_frames_in_seq_order_with_no_gap(stage: LocalStage) -> None:
    room = api(stage, "alice", "POST", "/rooms", {"name": "Order", "members": ["bob"]})
    first = room["seq"] + 1
    with socket(stage, "alice") as alice, socket(stage, "bob") as bob:
        tabs = [Tab(alice, room["room_id"]), Tab(bob, room["room_id"])]
        for i in range(10):
            for tab, who in zip(tabs, "ab", strict=True):
                frame = {"action": "send", "room_id": room["room_id"], "text": f"{who}{i}"}
                tab.ws.send(json.dumps({**frame, "client_id": f"{who}{i}"}))
        for tab in tabs:
            tab.read_until(lambda tab=tab: len(tab.acks) == 10)  # type: ignore[misc]
        acked = sorted(ack["seq"] for tab in tabs for ack in tab.acks)
        for tab in tabs:
            tab.read_until(lambda tab=tab: acked[-1] in tab.seqs)  # type: ignore[misc]

    assert acked == list(range(first, first + 20))
    for tab in tabs:  # (the room's creation may reach a socket opened after it)
        assert [seq for seq in tab.seqs if seq >= first] == acked


def test_an_expired_upload_form_is_refused(stage: LocalStage) -> None:
    room = api(stage, "alice", "POST", "/rooms", {"name": "Late"})["room_id"]
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        config=Config(signature_version="s3v4"),
    )
    key = f"rooms/{room}/late"
    form = s3.generate_presigned_post(
        Bucket=os.environ["FILES_BUCKET"],
        Key=key,
        Fields={"Content-Type": "image/png"},
        Conditions=[{"Content-Type": "image/png"}, ["content-length-range", 1, 10]],
        ExpiresIn=-60,
    )
    url = f"{stage.base}/s3/{os.environ['FILES_BUCKET']}"

    posted = requests.post(url, data=form["fields"], files={"file": b"12345"}, timeout=10)

    assert posted.status_code == 403 and "expired" in posted.text


def test_the_cognito_pass_through_only_takes_what_a_browser_may_call(stage: LocalStage) -> None:
    def call(action: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(
            stage.config["cognitoEndpoint"],
            json=body,
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"AWSCognitoIdentityProviderService.{action}",
            },
            timeout=10,
        )

    signed_in = call(
        "InitiateAuth",
        {
            "ClientId": stage.client_id,
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": "carol", "PASSWORD": "Carol-password-1"},
        },
    )
    admin = call("AdminDeleteUser", {"UserPoolId": stage.pool_id, "Username": "carol"})

    assert signed_in.status_code == 200 and "AuthenticationResult" in signed_in.json()
    assert admin.status_code == 400 and admin.json()["__type"] == "NotAuthorizedException"


def test_concurrent_requests_each_see_only_their_own_caller(stage: LocalStage) -> None:
    room = api(stage, "bob", "POST", "/rooms", {"name": "Busy"})["room_id"]
    for i in range(3):
        api(stage, "bob", "POST", f"/rooms/{room}/messages", {"text": f"m{i}"})
    deadline = time.monotonic() + 10
    while len(api(stage, "bob", "GET", f"/rooms/{room}/messages")["messages"]) < 3:
        assert time.monotonic() < deadline, "the history never caught up"
        time.sleep(0.1)
    tokens = {user: token(stage, user) for user in ("alice", "bob", "carol")}
    paths = {"alice": "/me", "bob": f"/rooms/{room}/messages", "carol": "/me"}

    def call(user: str) -> tuple[str, int, Any]:
        answer = requests.get(
            f"{stage.base}/api{paths[user]}",
            headers={"Authorization": f"Bearer {tokens[user]}"},
            timeout=10,
        )
        return user, answer.status_code, answer.json()

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(call, ["alice", "bob", "carol"] * 20))

    for user, status, body in answers:
        assert status == 200, (user, body)
        if user == "bob":
            assert [m["text"] for m in body["messages"]] == ["m2", "m1", "m0"]
        else:
            assert body["user_id"] == user
    assert stage.lambdas.instances["http-api"] > 1  # Lambda scaled out, one request per instance

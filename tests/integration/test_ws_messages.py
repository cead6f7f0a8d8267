"""WebSocket actions, given message events of the AWS shape: acks from the command path, error
frames for anything wrong, typing on the bus and never in the log."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.event_store import DynamoEventStore
from adapters.rate_limits import DynamoRateLimiter
from application.service import ChatService
from domain.rate_limits import FRAMES
from functions.ws import messages
from local.provision import Stage
from tests.integration.support import drain, tap

SAMPLE = json.loads(
    (Path(__file__).resolve().parents[3] / "shared/aws-events/websocket-message.json").read_text()
)


def frame(user: str | None, body: Any, deps: messages.Deps | None = None) -> dict[str, Any]:
    event = copy.deepcopy(SAMPLE)
    if user:
        event["requestContext"]["authorizer"] = {"user_id": user}
    event["requestContext"]["routeKey"] = (
        body.get("action", "$default") if isinstance(body, dict) else "$default"
    )
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    answer = messages.handle(event, deps or messages.from_environment())
    assert answer["statusCode"] == 200
    return json.loads(answer["body"]) if "body" in answer else {}


@pytest.fixture
def room(stage: Stage, event_store: DynamoEventStore) -> str:
    return ChatService(event_store).create_room("alice", "General", ("bob",)).room_id


def test_a_send_is_acknowledged_with_its_seq_and_a_resend_with_the_same(room: str) -> None:
    first = frame("bob", {"action": "send", "room_id": room, "text": "hi", "client_id": "c1"})
    again = frame("bob", {"action": "send", "room_id": room, "text": "hi", "client_id": "c1"})

    assert first == {
        "type": "ack",
        "client_id": "c1",
        "room_id": room,
        "seq": 2,
        "duplicate": False,
    }
    assert again["seq"] == 2 and again["duplicate"] is True


def test_edit_delete_and_read_are_acknowledged(room: str) -> None:
    frame("bob", {"action": "send", "room_id": room, "text": "typo", "client_id": "c1"})

    edited = frame(
        "bob", {"action": "edit", "room_id": room, "seq": 2, "text": "fixed", "client_id": "e1"}
    )
    deleted = frame("bob", {"action": "delete", "room_id": room, "seq": 2, "client_id": "d1"})
    read = frame("alice", {"action": "read", "room_id": room, "seq": 4})

    assert (edited["type"], edited["seq"], edited["client_id"]) == ("ack", 3, "e1")
    assert (deleted["type"], deleted["seq"]) == ("ack", 4)
    assert read["type"] == "ack"


def test_a_ping_gets_a_pong(room: str) -> None:
    assert frame("alice", {"action": "ping"}) == {"type": "pong"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "bad_frame"),
        ({"action": "dance"}, "bad_frame"),
        ({"action": "send", "text": "no room"}, "bad_frame"),
        (
            {"action": "send", "room_id": "nowhere", "text": "hi", "client_id": "c9"},
            "room_not_found",
        ),
        ({"action": "edit", "room_id": "ROOM", "seq": 1, "text": "x"}, "message_not_found"),
    ],
)
def test_a_bad_frame_gets_an_error_frame(room: str, body: Any, code: str) -> None:
    if isinstance(body, dict) and body.get("room_id") == "ROOM":
        body["room_id"] = room

    answer = frame("alice", body)

    assert answer["type"] == "error" and answer["code"] == code and answer["message"]
    if isinstance(body, dict) and "client_id" in body:
        assert answer["client_id"] == body["client_id"]


def test_outsiders_get_an_error_frame_and_write_nothing(
    room: str, event_store: DynamoEventStore
) -> None:
    answer = frame("mallory", {"action": "send", "room_id": room, "text": "let me in"})

    assert answer["code"] == "room_not_found"
    assert len(event_store.read_stream("room#" + room)) == 1


def test_a_frame_on_a_connection_without_a_user_is_refused(room: str) -> None:
    assert frame(None, {"action": "ping"})["type"] == "error"


def test_typing_reaches_the_bus_and_never_the_log(
    room: str, stage: Stage, event_store: DynamoEventStore
) -> None:
    url = tap(stage, "typing", {"detail-type": ["typing"]})

    assert frame("bob", {"action": "typing", "room_id": room}) == {}
    assert frame("mallory", {"action": "typing", "room_id": room})["code"] == "room_not_found"

    assert [e["detail"] for e in drain(url)] == [{"room_id": room, "user_id": "bob"}]
    assert len(event_store.read_stream("room#" + room)) == 1


def test_an_unexpected_failure_answers_an_internal_error_frame_with_the_client_id(
    room: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(user: str, frame: object) -> dict[str, Any]:
        raise ConnectionError("DynamoDB is unreachable")

    monkeypatch.setattr(messages, "act", broken)

    answer = frame("bob", {"action": "send", "room_id": room, "text": "hi", "client_id": "c9"})

    assert answer["type"] == "error" and answer["code"] == "internal"
    assert answer["client_id"] == "c9"


def test_a_flood_of_frames_gets_rate_limited_error_frames_with_the_client_id_and_a_retry_hint(
    room: str, stage: Stage
) -> None:
    at_one_instant = DynamoRateLimiter(stage.tables["rate-limits"], clock=lambda: 10**12)
    deps = dataclasses.replace(messages.from_environment(), limits=at_one_instant)
    answers = [frame("bob", {"action": "ping"}, deps) for _ in range(FRAMES.burst)]
    over = frame(
        "bob", {"action": "send", "room_id": room, "text": "hi", "client_id": "late"}, deps
    )

    assert {answer["type"] for answer in answers} == {"pong"}  # the whole burst
    assert over["type"] == "error" and over["code"] == "rate_limited"
    assert over["client_id"] == "late" and over["retry_after_ms"] == FRAMES.interval_ms
    assert over["limit"] == FRAMES.name
    assert frame("alice", {"action": "ping"}, deps) == {"type": "pong"}  # her budget is her own

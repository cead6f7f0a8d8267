"""The broadcaster Lambda: an EventBridge event of the AWS shape, members from the live views and
connections from the connections table; the management API is a recording stand-in (the local
gateway's real @connections endpoint comes with the local stage)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from adapters.aws import client
from adapters.connections import DynamoConnections
from adapters.event_store import DynamoEventStore
from adapters.view_store import DynamoViewStore
from application.fanout import Gone
from application.service import ChatService
from domain.projection import project
from domain.public import detail
from functions.broadcaster import handler
from local.provision import Stage

SAMPLE = json.loads(
    (Path(__file__).resolve().parents[3] / "shared/aws-events/eventbridge-event.json").read_text()
)


class RecordingApi:
    def __init__(self, closed: set[str]) -> None:
        self.closed = closed
        self.frames: dict[str, list[dict[str, Any]]] = {}

    def post(self, connection_id: str, data: bytes) -> None:
        if connection_id in self.closed:
            raise Gone(connection_id)
        self.frames.setdefault(connection_id, []).append(json.loads(data))


@pytest.fixture
def api(stage: Stage, view_store: DynamoViewStore, monkeypatch: pytest.MonkeyPatch) -> RecordingApi:
    recording = RecordingApi(closed={"alice-old-tab"})
    connections = DynamoConnections(stage.tables["connections"], client("dynamodb"))
    DEPS[:] = [handler.Deps(view_store, connections, recording)]
    now = int(time.time() * 1000)
    for user, conn in [
        ("alice", "alice-tab"),
        ("alice", "alice-old-tab"),
        ("bob", "bob-tab"),
        ("mallory", "m-tab"),
    ]:
        connections.add(user, conn, now)
    return recording


DEPS: list[handler.Deps] = []


def broadcast(event: dict[str, Any]) -> dict[str, Any]:
    return handler.handle(EventBridgeEvent(event), DEPS[0])


def bus_event(detail_type: str, body: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(SAMPLE)
    event.pop("replay-name")
    event.update({"source": "chat", "detail-type": detail_type, "detail": body})
    return event


def test_a_message_reaches_every_open_tab_of_the_members_and_closed_tabs_are_forgotten(
    api: RecordingApi, event_store: DynamoEventStore, view_store: DynamoViewStore, stage: Stage
) -> None:
    chat = ChatService(event_store)
    room = chat.create_room("alice", "General", ("bob",))
    sent = chat.send("bob", room.room_id, "hello")
    for envelope in event_store.read_stream("room#" + room.room_id):
        view_store.apply(project(envelope))
    assert sent.message is not None

    answer = broadcast(bus_event("message.created", detail(sent.message)))

    assert answer == {"sent": 2, "forgotten": 1}
    assert sorted(api.frames) == ["alice-tab", "bob-tab"]
    (frame,) = api.frames["bob-tab"]
    assert frame["type"] == "message.created" and frame["seq"] == sent.seq
    assert frame["data"]["text"] == "hello"
    connections = DynamoConnections(stage.tables["connections"], client("dynamodb"))
    assert connections.of_user("alice") == ["alice-tab"]

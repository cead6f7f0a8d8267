"""The broadcaster Lambda: room events as Lambda hands them over from the FIFO queue (sent there by
the projector's feed, received from moto's SQS), typing as an EventBridge event of the AWS shape;
members from the live views, connections from the connections table. The management API is a
recording stand-in (the local gateway's real @connections endpoint comes with the local stage)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.aws import client
from adapters.connections import DynamoConnections
from adapters.event_store import DynamoEventStore
from adapters.requeue import SqsRequeue
from adapters.room_feed import SqsFifoFeed
from adapters.view_store import DynamoViewStore
from application.fanout import Gone
from application.service import ChatService
from components.topology import QueueMapping
from domain.events import Envelope
from domain.projection import project
from functions.broadcaster import handler
from local.provision import Stage
from local.pumps import QueuePump
from tests.integration.support import FakeContext

SAMPLE = json.loads(
    (Path(__file__).resolve().parents[3] / "shared/aws-events/eventbridge-event.json").read_text()
)


class RecordingApi:
    def __init__(self, closed: set[str]) -> None:
        self.closed = closed
        self.unreachable: set[str] = set()
        self.frames: dict[str, list[dict[str, Any]]] = {}

    def post(self, connection_id: str, data: bytes) -> None:
        if connection_id in self.closed:
            raise Gone(connection_id)
        if connection_id in self.unreachable:
            raise ConnectionError(connection_id)
        self.frames.setdefault(connection_id, []).append(json.loads(data))


@pytest.fixture
def api(stage: Stage, view_store: DynamoViewStore) -> RecordingApi:
    recording = RecordingApi(closed={"alice-old-tab"})
    connections = DynamoConnections(stage.tables["connections"], client("dynamodb"))
    DEPS[:] = [
        handler.Deps(view_store, connections, recording, SqsRequeue(stage.queues["room-events"]))
    ]
    now = int(time.time() * 1000)
    for user, conn in [
        ("alice", "alice-tab"),
        ("alice", "alice-old-tab"),
        ("bob", "bob-tab"),
        ("carol", "carol-tab"),
        ("mallory", "m-tab"),
    ]:
        connections.add(user, conn, now)
    return recording


DEPS: list[handler.Deps] = []


def broadcast(event: dict[str, Any]) -> dict[str, Any]:
    return handler.handle(event, FakeContext(), DEPS[0])  # type: ignore[arg-type]


def bus_event(detail_type: str, body: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(SAMPLE)
    event.pop("replay-name")
    event.update({"source": "chat", "detail-type": detail_type, "detail": body})
    return event


def room_batch(stage: Stage, envelopes: list[Envelope]) -> dict[str, Any]:
    """The events as the projector feeds them, as Lambda's mapping hands them to the broadcaster."""
    url = stage.queues["room-events"]
    SqsFifoFeed(url).publish(envelopes)
    pump = QueuePump(QueueMapping("room-events", "broadcaster"), url, invoke=lambda _: None)
    messages = client("sqs").receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    return pump.lambda_event(messages)


def logged(event_store: DynamoEventStore, views: DynamoViewStore, room_id: str) -> list[Envelope]:
    envelopes = list(event_store.read_stream("room#" + room_id))
    for envelope in envelopes:
        views.apply(project(envelope))
    return envelopes


def test_a_message_reaches_every_open_tab_of_the_members_and_closed_tabs_are_forgotten(
    api: RecordingApi, event_store: DynamoEventStore, view_store: DynamoViewStore, stage: Stage
) -> None:
    chat = ChatService(event_store)
    room = chat.create_room("alice", "General", ("bob",))
    sent = chat.send("bob", room.room_id, "hello")
    envelopes = logged(event_store, view_store, room.room_id)

    answer = broadcast(room_batch(stage, envelopes[-1:]))

    assert answer == {"batchItemFailures": []}
    assert sorted(api.frames) == ["alice-tab", "bob-tab"]
    (frame,) = api.frames["bob-tab"]
    assert frame["type"] == "message.created" and frame["seq"] == sent.seq
    assert frame["data"]["text"] == "hello" and frame["room_id"] == room.room_id
    connections = DynamoConnections(stage.tables["connections"], client("dynamodb"))
    assert connections.of_user("alice") == ["alice-tab"]


def test_a_room_s_events_arrive_in_seq_order_and_a_projector_retry_sends_nothing_twice(
    api: RecordingApi, event_store: DynamoEventStore, view_store: DynamoViewStore, stage: Stage
) -> None:
    chat = ChatService(event_store)
    room = chat.create_room("alice", "General", ("bob",))
    for n in range(5):
        chat.send("alice", room.room_id, f"m{n}")
    envelopes = logged(event_store, view_store, room.room_id)
    SqsFifoFeed(stage.queues["room-events"]).publish(envelopes[:3])  # a batch projected once

    broadcast(room_batch(stage, envelopes))  # then again, all of it, after a failure

    assert [f["seq"] for f in api.frames["bob-tab"]] == [e.version for e in envelopes]


def test_a_retried_send_after_its_first_was_delivered_is_dropped_as_sqs_drops_it(
    event_store: DynamoEventStore, view_store: DynamoViewStore, stage: Stage
) -> None:
    room = ChatService(event_store).create_room("alice", "Once", ("bob",))
    url = stage.queues["room-events"]
    first = room_batch(stage, logged(event_store, view_store, room.room_id))
    for record in first["Records"]:
        client("sqs").delete_message(QueueUrl=url, ReceiptHandle=record["receiptHandle"])

    SqsFifoFeed(url).publish(logged(event_store, view_store, room.room_id))  # a projector retry

    again = client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert again.get("Messages") is None


def test_a_failed_delivery_holds_back_only_its_own_room_and_comes_back_soon(
    api: RecordingApi, event_store: DynamoEventStore, view_store: DynamoViewStore, stage: Stage
) -> None:
    chat = ChatService(event_store)
    stuck = chat.create_room("alice", "With Carol", ("carol",))
    chat.send("alice", stuck.room_id, "one")
    chat.send("alice", stuck.room_id, "two")
    moving = chat.create_room("alice", "With Bob", ("bob",))
    chat.send("alice", moving.room_id, "hi")
    stuck_events = logged(event_store, view_store, stuck.room_id)[-2:]
    moving_events = logged(event_store, view_store, moving.room_id)[-1:]
    api.unreachable.add("carol-tab")

    event = room_batch(stage, [*stuck_events, *moving_events])
    answer = broadcast(event)

    by_id = {r["messageId"]: json.loads(r["body"])["room_id"] for r in event["Records"]}
    failed = [by_id[f["itemIdentifier"]] for f in answer["batchItemFailures"]]
    assert failed == [stuck.room_id, stuck.room_id]  # the second waits behind the first
    assert [f["data"]["text"] for f in api.frames["bob-tab"]] == ["hi"]
    api.unreachable.clear()
    again = back_a_second_later(stage)  # not at the visibility timeout
    assert [json.loads(m["Body"])["data"]["text"] for m in again] == ["one", "two"]


def test_with_too_little_time_left_no_event_is_started_and_all_come_back_soon(
    api: RecordingApi, event_store: DynamoEventStore, view_store: DynamoViewStore, stage: Stage
) -> None:
    room = ChatService(event_store).create_room("alice", "Late", ("bob",))
    ChatService(event_store).send("alice", room.room_id, "one")
    event = room_batch(stage, logged(event_store, view_store, room.room_id)[-2:])
    nearly_timed_out = FakeContext(timeout_s=handler.RESERVE_MS / 1000 - 1)

    answer = handler.handle(event, nearly_timed_out, DEPS[0])  # type: ignore[arg-type]

    assert len(answer["batchItemFailures"]) == 2
    assert api.frames == {}  # nothing went out that could overtake the retry
    assert len(back_a_second_later(stage)) == 2


def back_a_second_later(stage: Stage) -> list[dict[str, Any]]:
    """What the broadcaster handed back: due again in a second, not the visibility timeout."""
    time.sleep(1.2)
    messages: list[dict[str, Any]] = client("sqs").receive_message(
        QueueUrl=stage.queues["room-events"], MaxNumberOfMessages=10
    )["Messages"]
    return messages


def test_typing_comes_from_the_bus_to_everyone_in_the_room_but_the_typist(
    api: RecordingApi, event_store: DynamoEventStore, view_store: DynamoViewStore
) -> None:
    chat = ChatService(event_store)
    room = chat.create_room("alice", "General", ("bob",))
    logged(event_store, view_store, room.room_id)

    broadcast(bus_event("typing", {"room_id": room.room_id, "user_id": "alice"}))

    assert sorted(api.frames) == ["bob-tab"]
    assert api.frames["bob-tab"] == [
        {"type": "typing", "room_id": room.room_id, "user_id": "alice"}
    ]

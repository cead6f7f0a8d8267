"""The projector Lambda, fed the records that moto's DynamoDB Stream returned for real writes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.aws import client
from adapters.event_codec import to_event_item
from adapters.event_store import DynamoEventStore
from adapters.view_store import DynamoViewStore
from application.service import ChatService
from domain.events import Attachment, Envelope, MessageCreated
from domain.projection import Views
from functions.projector import handler
from local.provision import Stage
from local.streams import StreamReader
from tests.integration.support import FakeContext, drain, tap

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "aws-events"


@pytest.fixture
def chat(event_store: DynamoEventStore) -> ChatService:
    ids = itertools.count(1)
    return ChatService(
        event_store, clock=lambda: "2026-11-25T10:00:00.000Z", ids=lambda: f"id{next(ids)}"
    )


@pytest.fixture
def reader(stage: Stage) -> StreamReader:
    return StreamReader(stage.events_stream_arn)


@pytest.fixture
def bus_queue(stage: Stage) -> str:
    """Everything the projector publishes lands in this queue, through a rule on the bus."""
    return tap(stage, "tap", {"source": ["chat"]})


def run(event: dict[str, Any]) -> Any:
    """The projector over this test's stage, its collaborators built from the environment."""
    return handler.handle(event, FakeContext(), handler.from_environment())  # type: ignore[arg-type]


def project(reader: StreamReader) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    records = reader.poll()
    return run(reader.lambda_event(records)), records


def test_stream_records_have_the_shape_lambda_delivers(
    chat: ChatService, reader: StreamReader
) -> None:
    chat.create_room("alice", "General")
    records = reader.lambda_event(reader.poll())["Records"]
    sample = json.loads((SAMPLES / "dynamodb-stream.json").read_text())["Records"][0]

    event_records = [r for r in records if r["dynamodb"]["Keys"]["sk"]["N"] != "0"]
    assert event_records, records
    for record in records:
        assert set(sample) <= set(record), set(sample) - set(record)
        assert {"Keys", "NewImage", "SequenceNumber", "SizeBytes", "StreamViewType"} <= set(
            record["dynamodb"]
        )
        assert record["eventSource"] == "aws:dynamodb"


def test_the_projector_builds_the_views_and_publishes_each_event(
    chat: ChatService,
    reader: StreamReader,
    view_store: DynamoViewStore,
    bus_queue: str,
    event_store: DynamoEventStore,
) -> None:
    room = chat.create_room("alice", "General", ("bob",))
    sent = chat.send("bob", room.room_id, "hello alice", client_id="m-1")
    chat.edit("bob", room.room_id, sent.seq, "hello, alice")
    photo = Attachment(f"rooms/{room.room_id}/f1/cat.png", "cat.png", "image/png", 2048)
    chat.send("alice", room.room_id, "hi bob", attachments=(photo,))
    chat.mark_read("alice", room.room_id, 4)

    response, _ = project(reader)

    assert response == {"batchItemFailures": []}
    inbox = {entry["room_id"]: entry for entry in view_store.inbox("bob")}
    assert inbox[room.room_id]["unread"] == 1  # alice's reply; bob's own message is seen
    assert inbox[room.room_id]["last_message"]["preview"] == "hi bob"
    assert view_store.inbox("alice")[0]["unread"] == 0
    history = view_store.messages(room.room_id)
    assert [m["text"] for m in history] == ["hi bob", "hello, alice"]
    assert history[0]["attachments"] == [
        {"key": photo.key, "name": "cat.png", "content_type": "image/png", "size": 2048}
    ]
    assert sorted(view_store.members(room.room_id)) == ["alice", "bob"]

    published = drain(bus_queue)
    # Each stream's events in order; streams (the room's, alice's read markers) side by side.
    assert [p["detail-type"] for p in published if p["detail-type"] != "read.marked"] == [
        "room.created",
        "message.created",
        "message.updated",
        "message.created",
    ]
    assert [p["detail-type"] for p in published].count("read.marked") == 1
    created = next(p for p in published if p["detail-type"] == "message.created")
    assert created["source"] == "chat"
    assert created["detail"]["room_id"] == room.room_id
    assert created["detail"]["seq"] == sent.seq
    assert created["detail"]["data"]["text"] == "hello alice"
    assert {"actor", "at", "event_id", "type"} <= set(created["detail"])

    live = {(r["pk"], r["sk"]): r for r in view_store.scan_rows()}
    folded = {
        (r["pk"], r["sk"]): r
        for r in Views()
        .fold(sorted(event_store.scan(), key=lambda e: (e.stream, e.version)))
        .items()
    }
    assert live == folded


def test_a_redelivered_batch_changes_nothing(
    chat: ChatService, reader: StreamReader, view_store: DynamoViewStore
) -> None:
    room = chat.create_room("alice", "General", ("bob",))
    chat.send("bob", room.room_id, "once")
    _, records = project(reader)
    before = sorted(view_store.scan_rows(), key=lambda r: (r["pk"], r["sk"]))

    again = run(reader.lambda_event(records))

    assert again == {"batchItemFailures": []}
    assert sorted(view_store.scan_rows(), key=lambda r: (r["pk"], r["sk"])) == before


def test_an_undecodable_record_fails_alone_and_its_stream_waits_behind_it(
    chat: ChatService,
    reader: StreamReader,
    view_store: DynamoViewStore,
    stage: Stage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    room = chat.create_room("alice", "General")
    other = chat.create_room("bob", "Other")
    table = stage.tables["events"]
    poison = to_event_item(
        Envelope(
            "room#" + room.room_id,
            2,
            "message.created",
            1,
            "2026-11-25T10:00:00.000Z",
            "alice",
            "e2",
            "c2",
            MessageCreated("fine", 1),
        )
    )
    poison["type"] = {"S": "message.teleported"}
    later = to_event_item(
        Envelope(
            "room#" + room.room_id,
            3,
            "message.created",
            1,
            "2026-11-25T10:00:01.000Z",
            "alice",
            "e3",
            "c3",
            MessageCreated("after the poison", 2),
        )
    )
    client("dynamodb").put_item(TableName=table, Item=poison)
    client("dynamodb").put_item(TableName=table, Item=later)
    chat.send("bob", other.room_id, "still delivered")

    response, records = project(reader)

    def sequence(sk: str) -> str:
        return str(
            next(
                r["dynamodb"]["SequenceNumber"]
                for r in records
                if r["dynamodb"]["Keys"] == {"pk": {"S": "room#" + room.room_id}, "sk": {"N": sk}}
            )
        )

    assert response["batchItemFailures"] == [
        {"itemIdentifier": sequence("2")},
        {"itemIdentifier": sequence("3")},
    ]
    assert view_store.inbox("bob")[0]["last_message"]["preview"] == "still delivered"
    assert view_store.messages(room.room_id) == []
    undecodable = [r for r in caplog.records if r.getMessage() == "undecodable event record"]
    assert len(undecodable) == 1 and undecodable[0].levelname == "ERROR"
    assert undecodable[0].sequence == sequence("2")  # type: ignore[attr-defined]
    assert "message.teleported" in undecodable[0].reason  # type: ignore[attr-defined]


def test_the_handler_accepts_the_aws_sample_batch_and_skips_what_is_not_an_event(
    stage: Stage, reader: StreamReader
) -> None:
    sample = json.loads((SAMPLES / "dynamodb-stream.json").read_text())

    assert run(sample) == {"batchItemFailures": []}

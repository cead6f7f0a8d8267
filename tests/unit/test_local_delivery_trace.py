"""The local stage's delivery trace: enough to tell, after a frame reached a socket out of order,
whether the queue handed the room's events out of order or the posts overtook each other."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from components.topology import QueueMapping
from local import connections_api, delivery_trace, pumps
from local.delivery_trace import DeliveryTrace, frame_position


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_record_is_a_line_of_its_own_in_the_order_made(tmp_path: Path) -> None:
    trace = DeliveryTrace(tmp_path / "delivery.jsonl")

    trace.record("queued", connection="c1", room="r", seq=2)
    trace.record("queued", connection="c1", room="r", seq=3)

    assert [(line["kind"], line["seq"]) for line in lines(tmp_path / "delivery.jsonl")] == [
        ("queued", 2),
        ("queued", 3),
    ]


def test_without_a_file_nothing_is_written(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv(delivery_trace.ENV, raising=False)
    monkeypatch.chdir(tmp_path)

    delivery_trace.from_environment().record("queued", seq=1)

    assert list(tmp_path.iterdir()) == []


def test_a_frames_position_is_its_room_and_seq_and_other_bodies_have_none() -> None:
    assert frame_position(b'{"type":"message.created","room_id":"r1","seq":7}') == {
        "room": "r1",
        "seq": 7,
    }
    assert frame_position('{"type":"typing","room_id":"r1"}') == {}
    assert frame_position("not json") == {}
    assert frame_position("[1, 2]") == {}


class FifoQueue:
    """The calls a queue pump makes, over one batch of a room's frames."""

    def __init__(self, seqs: list[int]) -> None:
        self.messages = [
            {
                "MessageId": f"m{seq}",
                "ReceiptHandle": f"h{seq}",
                "MD5OfBody": "",
                "Body": json.dumps({"room_id": "r1", "seq": seq}),
                "Attributes": {"MessageGroupId": "room#r1", "ApproximateReceiveCount": "1"},
            }
            for seq in seqs
        ]

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:q.fifo"}}

    def receive_message(self, **_: Any) -> dict[str, Any]:
        got, self.messages = self.messages, []
        return {"Messages": got}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> Any:
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}


def test_a_queue_pump_records_what_it_was_handed_what_failed_and_what_it_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pumps, "TRACE", DeliveryTrace(tmp_path / "delivery.jsonl"))
    pump = pumps.QueuePump(
        QueueMapping("room-events", "broadcaster"),
        "url",
        invoke=lambda _: {"batchItemFailures": [{"itemIdentifier": "m2"}]},
        sqs=FifoQueue([1, 2]),
    )

    pump.pump_once()

    received, invoked, deleted = lines(tmp_path / "delivery.jsonl")
    assert [(m["group"], m["seq"], m["receives"]) for m in received["messages"]] == [
        ("room#r1", 1, "1"),
        ("room#r1", 2, "1"),
    ]
    assert invoked["failed"] == ["m2"]
    assert deleted["ids"] == ["m1"]


class Outbox:
    def __init__(self) -> None:
        self.frames: list[str] = []

    def put(self, text: str) -> bool:
        self.frames.append(text)
        return True


def post(api: connections_api.ConnectionsApi, connection_id: str, body: bytes) -> int:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/@connections/{connection_id}",
        "headers": [(b"content-length", str(len(body)).encode())],
        "path_params": {"connection_id": connection_id},
    }
    loop = asyncio.new_event_loop()  # not asyncio.run: it leaves the thread without a loop
    try:
        return loop.run_until_complete(api.post_to_connection(Request(scope, receive))).status_code
    finally:
        loop.close()


def test_the_gateway_records_each_frame_it_queued_on_a_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connections_api, "TRACE", DeliveryTrace(tmp_path / "delivery.jsonl"))
    api = connections_api.ConnectionsApi({"c1": Outbox()})  # type: ignore[dict-item]

    assert post(api, "c1", b'{"room_id":"r1","seq":4}') == 200
    assert post(api, "gone", b'{"room_id":"r1","seq":5}') == 410

    assert [(line["connection"], line["seq"]) for line in lines(tmp_path / "delivery.jsonl")] == [
        ("c1", 4)
    ]

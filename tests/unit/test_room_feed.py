"""The room events' feed: each stream is a FIFO message group in seq order, named by stream and
version (a retry sends the same ids), and once SQS refuses part of a stream's batch nothing later
of that stream is sent, so a later event can never overtake an earlier one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.room_feed import FeedRefused, SqsFifoFeed
from domain.events import MessageCreated
from tests.unit.test_events_codec import envelope


class FakeSqs:
    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.refuse = refuse  # deduplication ids refused once
        self.calls: list[list[dict[str, str]]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.calls.append(Entries)
        failed = [
            {"Id": e["Id"], "Code": "InternalError", "SenderFault": False}
            for e in Entries
            if e["MessageDeduplicationId"] in self.refuse
        ]
        return {"Successful": [], "Failed": failed}


def messages(stream: str, count: int) -> list[Any]:
    return [envelope(MessageCreated(f"m{n}", n), n, stream) for n in range(1, count + 1)]


def test_each_room_is_a_message_group_in_seq_order_named_by_stream_and_version() -> None:
    sqs = FakeSqs()

    SqsFifoFeed("q", sqs).publish([*messages("room#a", 12), *messages("room#b", 1)])

    sent = [entry for call in sqs.calls for entry in call]
    assert [len(call) for call in sqs.calls] == [10, 2, 1]  # no call mixes rooms
    assert [e["MessageGroupId"] for e in sent] == ["room#a"] * 12 + ["room#b"]
    assert [e["MessageDeduplicationId"] for e in sent[:3]] == ["room#a@1", "room#a@2", "room#a@3"]
    assert [json.loads(e["MessageBody"])["seq"] for e in sent[:12]] == list(range(1, 13))
    assert json.loads(sent[0]["MessageBody"])["type"] == "message.created"


def test_a_refused_message_holds_back_its_room_but_not_the_others() -> None:
    sqs = FakeSqs(refuse=frozenset({"room#a@3"}))

    with pytest.raises(FeedRefused, match="room#a"):
        SqsFifoFeed("q", sqs).publish([*messages("room#a", 12), *messages("room#b", 1)])

    groups = [call[0]["MessageGroupId"] for call in sqs.calls]
    assert groups == ["room#a", "room#b"]  # room a's second batch (seq 11, 12) never went

"""The EventBridge publisher: batches of 10, and refused entries sent again."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.aws import client
from adapters.bus import EventBridgeBus, PublishFailed
from domain.events import Envelope, MessageCreated
from local.provision import Stage
from tests.integration.support import drain, tap


def envelope(seq: int) -> Envelope:
    return Envelope(
        "room#r1",
        seq,
        "message.created",
        1,
        "2026-11-25T10:00:00.000Z",
        "alice",
        f"event-{seq}",
        f"command-{seq}",
        MessageCreated(f"message {seq}", seq),
    )


def test_twenty_five_events_reach_a_rule_target_in_three_batches(stage: Stage) -> None:
    url = tap(stage, "all", {"source": ["chat"], "detail-type": ["message.created"]})
    calls: list[int] = []
    real = client("events")

    class Counting:
        def put_events(self, Entries: list[dict[str, str]]) -> Any:
            calls.append(len(Entries))
            return real.put_events(Entries=Entries)

    EventBridgeBus(stage.bus, Counting()).publish(envelope(i) for i in range(1, 26))

    seqs = [event["detail"]["seq"] for event in drain(url)]
    assert calls == [10, 10, 5]
    assert sorted(seqs) == list(range(1, 26))


class Flaky:
    """Refuses the second entry of a call, `refusals` times, as a throttled EventBridge does."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.sent: list[list[str]] = []

    def put_events(self, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.sent.append([json.loads(e["Detail"])["event_id"] for e in Entries])
        results: list[dict[str, str]] = [{"EventId": "ok"} for _ in Entries]
        if self.refusals and len(Entries) > 1:
            self.refusals -= 1
            results[1] = {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def test_only_the_refused_entries_are_sent_again() -> None:
    bus = Flaky(refusals=1)

    EventBridgeBus("bus", bus, sleep=lambda _: None).publish(
        [envelope(1), envelope(2), envelope(3)]
    )

    assert bus.sent == [["event-1", "event-2", "event-3"], ["event-2"]]


def test_entries_refused_on_every_attempt_fail_the_publish() -> None:
    class AlwaysRefused:
        def put_events(self, Entries: list[dict[str, str]]) -> dict[str, Any]:
            return {
                "FailedEntryCount": len(Entries),
                "Entries": [{"ErrorCode": "InternalFailure"} for _ in Entries],
            }

    with pytest.raises(PublishFailed):
        EventBridgeBus("bus", AlwaysRefused(), sleep=lambda _: None).publish([envelope(1)])

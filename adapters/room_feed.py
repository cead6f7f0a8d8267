"""Sends the log's public events to the SQS FIFO queue the broadcaster reads: one message group per
stream (a room's events stay in seq order), deduplicated by stream and version (a projector retry
sends again what SQS already holds; SQS keeps the first for five minutes and drops the rest)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import Any, Final

import msgspec

from adapters.aws import client
from adapters.batching import SQS_BATCH, runs
from domain.events import Envelope
from domain.public import detail

REQUEST_BYTES: Final = 256 * 1024  # SendMessageBatch: at most 256 KB of bodies and attributes


class FeedRefused(Exception):
    """SQS refused some messages: the projector's batch is retried (what was taken is deduped)."""


def frame(envelope: Envelope) -> bytes:
    """What members receive for an event: its public shape with its type."""
    return msgspec.json.encode({"type": envelope.type, **detail(envelope)})


class SqsFifoFeed:
    def __init__(self, queue_url: str, sqs: Any = None) -> None:
        self.queue_url = queue_url
        self.sqs = sqs or client("sqs")

    def publish(self, envelopes: Iterable[Envelope]) -> None:
        """Each stream's events, in the order given, batch after batch. Once a batch is refused
        in part, that stream's later batches are not sent (a later event must not overtake an
        earlier one); the projector's retry sends them all again."""
        refused: list[str] = []
        held: set[str] = set()
        for stream, events in groupby(envelopes, key=lambda envelope: envelope.stream):
            if stream in held:
                continue
            entries = [self._entry(index, envelope) for index, envelope in enumerate(events)]
            for batch in runs(entries, _size, SQS_BATCH, REQUEST_BYTES):
                answer = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=batch)
                failed = answer.get("Failed") or []
                if failed:
                    refused += [f"{stream}: {f.get('Code')} {f.get('Message', '')}" for f in failed]
                    held.add(stream)
                    break
        if refused:
            raise FeedRefused("; ".join(refused[:3]))

    @staticmethod
    def _entry(index: int, envelope: Envelope) -> dict[str, str]:
        return {
            "Id": str(index),
            "MessageBody": frame(envelope).decode(),
            "MessageGroupId": envelope.stream,
            "MessageDeduplicationId": f"{envelope.stream}@{envelope.version}",
        }


def _size(entry: dict[str, str]) -> int:
    return len(entry["MessageBody"].encode()) + len(entry["MessageGroupId"]) + 64

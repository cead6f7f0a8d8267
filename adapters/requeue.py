"""Brings received SQS messages back sooner than their queue's visibility timeout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.aws import client
from adapters.batching import SQS_BATCH, chunks


class SqsRequeue:
    def __init__(self, queue_url: str, sqs: Any = None) -> None:
        self.queue_url = queue_url
        self.sqs = sqs or client("sqs")

    def later(self, receipt_handles: Sequence[str], seconds: int) -> None:
        """Each message becomes visible again in `seconds` (best effort: one that cannot be
        changed comes back at its visibility timeout anyway)."""
        for handles in chunks(receipt_handles, SQS_BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                for i, handle in enumerate(handles)
            ]
            self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)

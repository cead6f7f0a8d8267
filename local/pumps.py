"""Event-source pumps with Lambda's semantics, configured from the topology:
the events stream -> projector, and the bus rule -> SQS -> broadcaster."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from adapters.aws import client
from components.topology import BUS_RULES, STREAM_MAPPINGS, BusRule, StreamMapping
from local.gateway import FakeContext, handler
from local.streams import StreamReader

CONCURRENT_INVOCATIONS = 8


class StreamPump(threading.Thread):
    """Polls the stream and invokes the mapping's function with batches; a reported failure is
    retried from the first failed record (Lambda's checkpoint), up to the mapping's retries, then
    that record goes to the on-failure queue and the shard moves on."""

    def __init__(
        self, mapping: StreamMapping, stream_arn: str, dlq_url: str, from_now: bool = False
    ) -> None:
        super().__init__(daemon=True, name=f"pump-{mapping.function}")
        self.mapping, self.dlq_url = mapping, dlq_url
        self.reader = StreamReader(stream_arn, from_now=from_now)
        self.stopped = threading.Event()
        self.pending: list[dict[str, Any]] = []
        self.attempts = 0

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            try:
                self.pump_once()
            except Exception:  # keep pumping; the records stay pending
                self.stopped.wait(0.5)

    def pump_once(self) -> None:
        self.pending.extend(self.reader.poll())
        if not self.pending:
            return
        batch = self.pending[: self.mapping.batch_size]
        event = self.reader.lambda_event(batch)
        answer = handler(self.mapping.function)(event, FakeContext(self.mapping.function))
        failures = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
        if not failures:
            self.pending, self.attempts = self.pending[len(batch) :], 0
            return
        first = next(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failures)
        self.pending = self.pending[first:]
        self.attempts += 1
        if self.attempts > self.mapping.max_retries:
            poison = self.pending.pop(0)
            client("sqs").send_message(QueueUrl=self.dlq_url, MessageBody=json.dumps(poison))
            self.attempts = 0


class BusPump(threading.Thread):
    """The rule's target as a queue: each event invokes the function; a failure leaves the message
    to come back (EventBridge's retries), and the queue's redrive sends it to the DLQ at last."""

    def __init__(self, rule: BusRule, queue_url: str) -> None:
        super().__init__(daemon=True, name=f"pump-{rule.function}")
        self.rule, self.queue_url = rule, queue_url
        self.stopped = threading.Event()

    def run(self) -> None:
        sqs = client("sqs")
        # Rooms side by side, each room's events one after another (a FIFO queue grouped by room):
        # members must get a room's frames in seq order.
        with ThreadPoolExecutor(max_workers=CONCURRENT_INVOCATIONS) as pool:
            while not self.stopped.is_set():
                try:
                    got = sqs.receive_message(
                        QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                    )
                except Exception:
                    self.stopped.wait(0.5)
                    continue
                groups: dict[str, list[dict[str, Any]]] = {}
                for message in got.get("Messages", []):
                    room = json.loads(message["Body"]).get("detail", {}).get("room_id", "")
                    groups.setdefault(str(room), []).append(message)
                list(pool.map(lambda group: self._invoke_in_order(sqs, group), groups.values()))

    def _invoke_in_order(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            try:
                event = json.loads(message["Body"])
                handler(self.rule.function)(event, FakeContext(self.rule.function))
            except Exception:
                return  # this and the room's later events come back after the timeout: a retry
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def bus_target_queue(rule: BusRule, bus: str, prefix: str, dlq_url: str) -> str:
    """A queue as the rule's target, with the rule's retries as the redrive's receive count."""
    sqs, events = client("sqs"), client("events")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url: str = sqs.create_queue(
        QueueName=f"{prefix}-{rule.name}-target",
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(rule.max_retries + 1)}
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": ["chat"], "detail-type": list(rule.detail_types)}
    events.put_rule(Name=rule.name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=rule.name, EventBusName=bus, Targets=[{"Id": rule.function, "Arn": arn}]
    )
    return url


__all__ = ["BUS_RULES", "STREAM_MAPPINGS", "BusPump", "StreamPump", "bus_target_queue"]

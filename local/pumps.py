"""Event-source pumps with Lambda's semantics, configured from the topology:
the events stream -> projector, and the bus rule -> SQS -> broadcaster."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, cast

from moto.events.models import EventPattern

from adapters.aws import client
from components.topology import BUS_RULES, STREAM_MAPPINGS, BusRule, StreamMapping
from local.streams import StreamReader

CONCURRENT_INVOCATIONS = 8
MAX_IN_FLIGHT = 100  # events received and not yet settled
IDLE_POLL_S = 0.25  # an idle pump looks for records nobody told it about (Lambda: 4/s)
MAX_BACKOFF_S = 2.0

log = logging.getLogger("local.pumps")

Invoke = Callable[[dict[str, Any]], Any]
Record = dict[str, Any]


def backoff(attempt: int) -> float:
    return float(min(MAX_BACKOFF_S, 0.05 * 2**attempt))


class StreamPump(threading.Thread):
    """Polls the stream and invokes the mapping's function with batches of the records its filter
    lets through.

    As Lambda's event source mapping does: a reported failure is retried from the first failed
    record (the checkpoint); a function error (it raised, as Powertools does when every record
    of a batch failed) bisects the batch when the mapping says so,
    and once a single record keeps failing past the mapping's retries, or is older than the
    mapping's maximum record age, Lambda's description of it goes to the on-failure queue and the
    shard moves on (splitting a batch does not count as a retry). `wake` lets a
    writer say "records are waiting" so that nobody waits for the next poll."""

    def __init__(
        self,
        mapping: StreamMapping,
        reader: StreamReader,
        invoke: Invoke,
        dead_letter: Callable[[Record], None],
    ) -> None:
        super().__init__(daemon=True, name=f"pump-{mapping.function}")
        self.mapping, self.reader, self.invoke, self.dead_letter = (
            mapping,
            reader,
            invoke,
            dead_letter,
        )
        self.filter = EventPattern.load(mapping.filter_pattern)
        self.stopped = threading.Event()
        self.wake = threading.Event()
        self.pending: list[Record] = []
        self.attempts = 0
        self.function_error = False  # the last failure was the function's, not a reported one
        self.batch_limit = mapping.batch_size

    def run(self) -> None:
        while not self.stopped.is_set():
            busy = False
            try:
                busy = self.pump_once()
            except Exception:  # the stream could not be read: the records stay where they are
                log.exception("stream pump for %s: reading the stream failed", self.mapping.table)
                self.stopped.wait(0.5)
            if not busy:
                self.wake.wait(IDLE_POLL_S)
                self.wake.clear()

    def pump_once(self) -> bool:
        """Deliver one batch; True when records are still waiting (the next poll need not wait:
        whatever is written meanwhile through the gateway wakes the pump anyway)."""
        self.pending.extend(
            r for r in self.reader.poll() if self.filter.matches_event(cast(Any, r))
        )
        if not self.pending:
            return False
        if self._too_old(self.pending[0]):
            self._give_up("RecordAgeExceeded")
            return True
        batch = self.pending[: self.batch_limit]
        failed = self._deliver(batch)
        self.function_error = failed is None
        if failed is None:  # a function error: bisect, or retry the whole batch
            if self.mapping.bisect_on_error and len(batch) > 1:
                self.batch_limit = max(1, len(batch) // 2)
                return True
            failed = 0
        elif failed == len(batch):  # all done
            self.pending, self.attempts = self.pending[len(batch) :], 0
            self.batch_limit = self.mapping.batch_size
            return bool(self.pending)
        self.pending = self.pending[failed:]
        self.attempts += 1
        if self.attempts > self.mapping.max_retries:
            self._give_up("RetryAttemptsExhausted")
        else:
            self.stopped.wait(backoff(self.attempts))
        return True

    def _too_old(self, record: Record) -> bool:
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        return created is not None and time.time() - created > self.mapping.max_record_age_s

    def _give_up(self, condition: str) -> None:
        """The first waiting record goes to the on-failure queue, described as Lambda describes
        it there (the record itself stays in the stream and the log), and the shard moves on."""
        poison = self.pending.pop(0)
        sequence = poison["dynamodb"]["SequenceNumber"]
        log.error("stream pump: record %s sent to the on-failure queue (%s)", sequence, condition)
        self.dead_letter(
            failure_record(
                self.mapping,
                self.reader.stream_arn,
                self.reader.shard_of(sequence),
                poison,
                condition,
                invocations=self.attempts,
                function_error=self.function_error,
            )
        )
        self.attempts = 0

    def _deliver(self, batch: list[Record]) -> int | None:
        """Index of the first failed record (len(batch) when none failed), None on a function
        error."""
        try:
            answer = self.invoke(self.reader.lambda_event(batch))
        except Exception:
            log.exception("stream pump: %s failed on a batch", self.mapping.function)
            return None
        failures = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
        for index, record in enumerate(batch):
            if record["dynamodb"]["SequenceNumber"] in failures:
                return index
        return len(batch)


def failure_record(
    mapping: StreamMapping,
    stream_arn: str,
    shard: str,
    record: Record,
    condition: str,
    invocations: int,
    function_error: bool,
) -> dict[str, Any]:
    """What Lambda sends a stream mapping's on-failure destination: not the record, but where it
    is in the stream (`DDBStreamBatchInfo`), so the record is read from the stream or the log."""
    sequence = record["dynamodb"]["SequenceNumber"]
    created = record["dynamodb"].get("ApproximateCreationDateTime", time.time())
    arrival = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{mapping.function}",
            "condition": condition,
            "approximateInvokeCount": invocations,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": sequence,
            "endSequenceNumber": sequence,
            "approximateArrivalOfFirstRecord": arrival,
            "approximateArrivalOfLastRecord": arrival,
            "batchSize": 1,
            "streamArn": stream_arn,
        },
    }


class BusPump(threading.Thread):
    """The rule's target, fed through a queue: each event invokes the function, and a failure is
    retried with backoff as the rule's retry policy says (attempts and event age), then the
    event goes to the rule's DLQ. Each room's events go one after another, in the order they
    came (members get a room's frames in seq order), and rooms go side by side: a room whose
    event is being retried holds back only its own later events."""

    def __init__(
        self, rule: BusRule, queue_url: str, dlq_url: str, invoke: Invoke, sqs: Any = None
    ) -> None:
        super().__init__(daemon=True, name=f"pump-{rule.function}")
        self.rule, self.queue_url, self.dlq_url, self.invoke = rule, queue_url, dlq_url, invoke
        self.sqs = sqs or client("sqs")
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        # a room's received events, there while it drains: the message and its decoded body
        self.backlog: dict[str, deque[tuple[dict[str, Any], dict[str, Any] | None]]] = {}
        self.in_flight = 0
        self.settled: list[str] = []  # receipt handles of handled events, deleted ten at a time

    def run(self) -> None:
        with ThreadPoolExecutor(max_workers=CONCURRENT_INVOCATIONS) as pool:
            while not self.stopped.is_set():
                if self.in_flight >= MAX_IN_FLIGHT:
                    self.stopped.wait(0.01)
                    continue
                try:
                    got = self.sqs.receive_message(
                        QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                    )
                except Exception:  # the queue could not be read: its messages stay there
                    log.exception("bus pump for %s: the target queue failed", self.rule.name)
                    self.stopped.wait(0.5)
                    continue
                for message in got.get("Messages", []):
                    event = _event_of(message)
                    room = str(event.get("detail", {}).get("room_id", "")) if event else ""
                    with self.lock:
                        self.in_flight += 1
                        draining = room in self.backlog
                        self.backlog.setdefault(room, deque()).append((message, event))
                    if not draining:
                        pool.submit(self._drain, room)
                self._delete_settled()
        self._delete_settled()

    def _drain(self, room: str) -> None:
        while True:
            with self.lock:
                queue = self.backlog[room]
                if not queue:
                    del self.backlog[room]
                    return
                message, event = queue[0]
            try:
                settled = self._deliver(message, event)
            except Exception:  # the event comes back when its visibility times out
                log.exception("bus pump for %s: could not settle an event", self.rule.name)
                settled = False
            if settled:
                with self.lock:
                    self.settled.append(message["ReceiptHandle"])
            with self.lock:
                queue.popleft()
                self.in_flight -= 1

    def _delete_settled(self) -> None:
        """Delete handled events from the queue; one that is not comes back after its visibility
        timeout and is delivered again (at least once, as EventBridge)."""
        while True:
            with self.lock:
                handles, self.settled = self.settled[:10], self.settled[10:]
            if not handles:
                return
            entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles)]
            try:
                self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception:
                log.exception("bus pump for %s: could not delete handled events", self.rule.name)

    def _deliver(self, message: dict[str, Any], event: dict[str, Any] | None) -> bool:
        """Invoke the function as the retry policy says; False when the pump stops meanwhile (the
        event stays in the queue for the next run)."""
        if event is None:
            log.error("bus pump: a message that is no event sent to %s's DLQ", self.rule.name)
        else:
            deadline = time.monotonic() + self.rule.max_event_age_s
            for attempt in range(self.rule.max_retries + 1):
                try:
                    self.invoke(event)
                    return True
                except Exception:
                    log.warning("bus pump: %s failed (attempt %d)", self.rule.function, attempt + 1)
                if attempt == self.rule.max_retries or time.monotonic() > deadline:
                    break
                if self.stopped.wait(backoff(attempt)):
                    return False
            log.error("bus pump: event %s sent to %s's DLQ", event.get("id"), self.rule.name)
        self.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=message["Body"])
        return True


def _event_of(message: dict[str, Any]) -> dict[str, Any] | None:
    try:
        event = json.loads(message["Body"])
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def bus_target_queue(rule: BusRule, bus: str, prefix: str) -> str:
    """A queue as the rule's target: only the transport, the pump applies the retry policy."""
    sqs, events = client("sqs"), client("events")
    url: str = sqs.create_queue(
        QueueName=f"{prefix}-{rule.name}-target",
        # Long enough for every retry: an event in flight is never received twice.
        Attributes={"VisibilityTimeout": str(rule.max_event_age_s + 60)},
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

"""Event-source pumps with Lambda's semantics, configured from the topology: the events stream ->
projector, the room events' FIFO queue -> broadcaster, and the bus rule -> SQS -> broadcaster."""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from moto.events.models import EventPattern

from adapters.aws import client
from adapters.batching import SQS_BATCH, chunks
from components.topology import BUS_RULES, STREAM_MAPPINGS, BusRule, QueueMapping, StreamMapping
from local.chaos import OFF, Chaos
from local.delivery_trace import TRACE, frame_position
from local.streams import StreamReader

CONCURRENT_INVOCATIONS = 8
MAX_IN_FLIGHT = 100  # events received and not yet settled
IDLE_POLL_S = 0.25  # an idle pump looks for records nobody told it about (Lambda: 4/s)
MAX_BACKOFF_S = 2.0
QUEUE_POLLERS = 4  # Lambda starts with five pollers for a queue; a FIFO group is in one at a time
# An idle queue poller looks again this often: what nobody rang for is a message whose visibility
# ran out (a failure's retry, 1 s or more later), so a second costs no more than it waits anyway.
QUEUE_IDLE_POLL_S = 1.0

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
        limit = self.mapping.max_record_age_s  # -1: no limit, as on AWS
        return created is not None and limit >= 0 and time.time() - created > limit

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


@dataclass
class Received:
    """An event taken from the target queue, and how its delivery is going."""

    message: dict[str, Any]
    event: dict[str, Any] | None  # None: the body is not an event
    deadline: float  # past the rule's maximum event age, it is not retried again
    attempts: int = 0


class BusPump(threading.Thread):
    """The rule's target, fed through a queue: each event invokes the function, and a failure is
    retried with backoff as the rule's retry policy says (attempts and event age), then the
    event goes to the rule's DLQ. Each room's events go one after another, in the order they
    came (members get a room's frames in seq order), and rooms go side by side: a room whose
    event is being retried holds back only its own later events, and waits for its next attempt
    without holding a worker (other rooms go on even when every worker's room is failing).

    A hostile `chaos` makes it the bus EventBridge is: each event is delayed at random and on its
    own (no room order), and some are delivered twice."""

    def __init__(
        self,
        rule: BusRule,
        queue_url: str,
        dlq_url: str,
        invoke: Invoke,
        sqs: Any = None,
        chaos: Chaos = OFF,
    ) -> None:
        super().__init__(daemon=True, name=f"pump-{rule.function}")
        self.rule, self.queue_url, self.dlq_url, self.invoke = rule, queue_url, dlq_url, invoke
        self.sqs = sqs or client("sqs")
        self.chaos = chaos
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.backlog: dict[str, deque[Received]] = {}  # a room's is there while it drains
        self.in_flight = 0
        self.settled: list[str] = []  # receipt handles of handled events, deleted ten at a time
        self.workers = ThreadPoolExecutor(CONCURRENT_INVOCATIONS, thread_name_prefix=self.name)
        self.timers: set[threading.Timer] = set()  # rooms waiting for a retry

    def run(self) -> None:
        try:
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
                    try:
                        self._take(message)
                    except Exception:  # it comes back when its visibility times out
                        log.exception("bus pump for %s: could not take a message", self.rule.name)
                self._delete_settled()
        finally:
            with self.lock:
                for timer in self.timers:
                    timer.cancel()
            self.workers.shutdown(wait=True)
            self._delete_settled()

    def _take(self, message: dict[str, Any]) -> None:
        event = _event_of(message)
        room = str(event["detail"].get("room_id", "")) if event else ""
        if self.chaos.bus_jitter_s:  # unordered: every event is a "room" of its own
            room = message["MessageId"]
        received = Received(message, event, time.monotonic() + self.rule.max_event_age_s)
        with self.lock:
            self.in_flight += 1
            draining = room in self.backlog
            self.backlog.setdefault(room, deque()).append(received)
        if not draining:
            self.workers.submit(self._drain, room)

    def _drain(self, room: str) -> None:
        """Deliver the room's events in order until none is left, or its first one must wait for
        a retry (a timer resumes the room then)."""
        while not self.stopped.is_set():
            with self.lock:
                queue = self.backlog[room]
                if not queue:
                    del self.backlog[room]
                    return
                received = queue[0]
            retry_in = self._attempt(received)
            if retry_in is not None:
                timer = threading.Timer(retry_in, self._resume, (room,))
                timer.daemon = True
                with self.lock:
                    self.timers = {t for t in self.timers if t.is_alive()} | {timer}
                timer.start()
                return
            with self.lock:
                queue.popleft()
                self.in_flight -= 1

    def _resume(self, room: str) -> None:
        # Once stopping, the event stays in the queue for the next run.
        with contextlib.suppress(RuntimeError):  # the workers are shut down
            if not self.stopped.is_set():
                self.workers.submit(self._drain, room)

    def _attempt(self, received: Received) -> float | None:
        """One delivery attempt: None once the event is settled (delivered, or sent to the DLQ),
        else the seconds to wait before the next attempt."""
        if received.event is not None:
            try:
                if self.chaos.bus_jitter_s:
                    self.stopped.wait(random.uniform(0, self.chaos.bus_jitter_s))
                self.invoke(received.event)
                if self.chaos.strikes("bus_duplicate"):
                    self.invoke(received.event)  # at least once
            except Exception:
                received.attempts += 1
                log.warning(
                    "bus pump: %s failed (attempt %d)", self.rule.function, received.attempts
                )
                if (
                    received.attempts <= self.rule.max_retries
                    and time.monotonic() < received.deadline
                ):
                    return backoff(received.attempts - 1)
                log.error(
                    "bus pump: event %s sent to %s's DLQ",
                    received.event.get("id"),
                    self.rule.name,
                )
                self._dead_letter(received)
            else:
                self._settle(received)
        else:
            log.error("bus pump: a message that is no event sent to %s's DLQ", self.rule.name)
            self._dead_letter(received)
        return None

    def _dead_letter(self, received: Received) -> None:
        try:
            self.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=received.message["Body"])
        except Exception:  # not settled: it comes back when its visibility times out
            log.exception("bus pump for %s: the DLQ refused an event", self.rule.name)
        else:
            self._settle(received)

    def _settle(self, received: Received) -> None:
        with self.lock:
            self.settled.append(received.message["ReceiptHandle"])

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
                answer = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception:
                log.exception("bus pump for %s: could not delete handled events", self.rule.name)
                continue
            for failed in (answer or {}).get("Failed", []):
                log.warning(
                    "bus pump for %s: a handled event was not deleted and will come again: %s",
                    self.rule.name,
                    failed.get("Message") or failed.get("Code"),
                )


class Doorbell:
    """The "messages were sent" signal for a pool of pollers: each ring wakes one waiting poller
    (an Event would wake them all, and all but one would find nothing), and a ring while none
    waits is kept for the next to wait."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._rung = False

    def set(self) -> None:
        with self._condition:
            self._rung = True
            self._condition.notify(1)

    def wait(self, timeout: float) -> None:
        with self._condition:
            if not self._rung:
                self._condition.wait(timeout)
            self._rung = False

    def clear(self) -> None:
        """Nothing to do: waiting takes the ring."""


class QueuePump:
    """Lambda's SQS event source mapping: pollers receive batches and invoke the function with
    them; what the function reports failed (or all of the batch, when it raises) stays in the
    queue and comes back when its visibility runs out, the rest is deleted. The queue does the
    rest as SQS does: a FIFO group is never in two batches at once, and a message received too
    often goes to the queue's dead-letter queue. Pollers short-poll (moto's long poll spins
    while a FIFO group is in flight); `wake` says "messages were sent" so nobody waits for the
    next poll."""

    def __init__(
        self, mapping: QueueMapping, queue_url: str, invoke: Invoke, sqs: Any = None
    ) -> None:
        self.mapping, self.queue_url, self.invoke = mapping, queue_url, invoke
        self.name = f"pump-{mapping.function}-{mapping.queue}"
        self.sqs = sqs or client("sqs")
        self.queue_arn: str = self.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.stopped = threading.Event()
        self.wake = Doorbell()
        self.pollers = [
            threading.Thread(target=self._poll, daemon=True, name=f"{self.name}-{n}")
            for n in range(min(QUEUE_POLLERS, mapping.max_concurrency))
        ]

    def start(self) -> None:
        for poller in self.pollers:
            poller.start()

    def join(self, timeout: float | None = None) -> None:
        for poller in self.pollers:
            poller.join(timeout)

    def _poll(self) -> None:
        while not self.stopped.is_set():
            try:
                busy = self.pump_once()
            except Exception:  # the queue could not be read: its messages stay there
                log.exception("queue pump for %s: the queue failed", self.mapping.queue)
                self.stopped.wait(0.5)
                continue
            if not busy:
                self.wake.wait(QUEUE_IDLE_POLL_S)

    def pump_once(self) -> bool:
        """One batch, if there was one: True when there was."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.mapping.batch_size,
            MessageSystemAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return False
        if len(messages) == self.mapping.batch_size:
            self.wake.set()  # there may be more: another poller takes the next batch meanwhile
        if TRACE.path is not None:
            TRACE.record("received", queue=self.mapping.queue, messages=[*map(_traced, messages)])
        try:
            answer = self.invoke(self.lambda_event(messages))
        except Exception as error:
            log.exception("queue pump: %s failed on a batch", self.mapping.function)
            TRACE.record(
                "invocation_failed", ids=[m["MessageId"] for m in messages], error=str(error)
            )
            return True
        failed = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
        TRACE.record("invoked", failed=sorted(failed))
        done = [m for m in messages if m["MessageId"] not in failed]
        for some in chunks(done, SQS_BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(some)
            ]
            deleted = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            for refused in (deleted or {}).get("Failed", []):
                # A FIFO queue refuses a delete whose receive's visibility ran out: the message
                # comes back, as on AWS, and its frame is delivered again.
                log.warning("queue pump: %s kept a message: %s", self.mapping.queue, refused)
            TRACE.record(
                "deleted", ids=[m["MessageId"] for m in some], failed=(deleted or {}).get("Failed")
            )
        return True

    def lambda_event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The batch as Lambda hands an SQS batch to a function."""
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": self.queue_arn.split(":")[3],
                }
                for m in messages
            ]
        }


def _traced(message: dict[str, Any]) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    return {
        "id": message["MessageId"],
        "group": attributes.get("MessageGroupId"),
        "receives": attributes.get("ApproximateReceiveCount"),
        **frame_position(message["Body"]),
    }


def _event_of(message: dict[str, Any]) -> dict[str, Any] | None:
    """The EventBridge event a message carries; None when it carries none."""
    try:
        event = json.loads(message["Body"])
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        return None
    return event


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
    events.put_rule(Name=rule.name, EventBusName=bus, EventPattern=json.dumps(rule.event_pattern()))
    events.put_targets(
        Rule=rule.name, EventBusName=bus, Targets=[{"Id": rule.function, "Arn": arn}]
    )
    return url


__all__ = [
    "BUS_RULES",
    "STREAM_MAPPINGS",
    "BusPump",
    "QueuePump",
    "StreamPump",
    "bus_target_queue",
]

"""Event-source pumps with Lambda's semantics, configured from the topology:
the events stream -> projector, and the bus rule -> SQS -> broadcaster."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
    and once a single record keeps failing past the mapping's retries it goes to the on-failure
    queue and the shard moves on (splitting a batch does not count as a retry). `wake` lets a
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
        batch = self.pending[: self.batch_limit]
        failed = self._deliver(batch)
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
            poison = self.pending.pop(0)
            log.error(
                "stream pump: record %s failed %d times, sent to the on-failure queue",
                poison["dynamodb"]["SequenceNumber"],
                self.attempts,
            )
            self.dead_letter(poison)
            self.attempts = 0
        else:
            self.stopped.wait(backoff(self.attempts))
        return True

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
        self.backlog: dict[str, deque[dict[str, Any]]] = {}  # a room's is there while it drains
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
                    room = _room_of(message)
                    with self.lock:
                        self.in_flight += 1
                        draining = room in self.backlog
                        self.backlog.setdefault(room, deque()).append(message)
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
                message = queue[0]
            try:
                self._deliver(message)
            except Exception:  # the event comes back when its visibility times out
                log.exception("bus pump for %s: could not settle an event", self.rule.name)
            else:
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

    def _deliver(self, message: dict[str, Any]) -> None:
        event = json.loads(message["Body"])
        deadline = time.monotonic() + self.rule.max_event_age_s
        for attempt in range(self.rule.max_retries + 1):
            try:
                self.invoke(event)
                return
            except Exception:
                log.warning("bus pump: %s failed (attempt %d)", self.rule.function, attempt + 1)
            if time.monotonic() > deadline or self.stopped.wait(backoff(attempt)):
                break
        log.error("bus pump: event %s sent to %s's DLQ", event.get("id"), self.rule.name)
        self.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=message["Body"])


def _room_of(message: dict[str, Any]) -> str:
    try:
        return str(json.loads(message["Body"]).get("detail", {}).get("room_id", ""))
    except (ValueError, AttributeError):
        return ""


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

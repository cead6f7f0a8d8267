"""The local stage's event-source pumps behave as Lambda's mappings do: the stream filter, the
checkpoint on a reported failure, bisecting on a function error, the on-failure queue, and the
bus rule's retries and DLQ with each room's events kept in order."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from components.topology import BUS_RULES, STREAM_MAPPINGS
from local import pumps
from local.chaos import HOSTILE, OFF, Chaos
from local.pumps import BusPump, Doorbell, StreamPump

MAPPING = STREAM_MAPPINGS[0]
RULE = BUS_RULES[0]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pumps, "backoff", lambda attempt: 0.0)


def record(
    seq: int, sk: int | None = None, event_name: str = "INSERT", created: float | None = None
) -> dict[str, Any]:
    return {
        "eventName": event_name,
        "dynamodb": {
            "Keys": {"pk": {"S": "room#r1"}, "sk": {"N": str(seq if sk is None else sk)}},
            "SequenceNumber": f"{seq:06d}",
            "ApproximateCreationDateTime": float(int(time.time() if created is None else created)),
        },
    }


class Reader:
    stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/t-events/stream/2026-11-25"

    def __init__(self, *batches: list[dict[str, Any]]) -> None:
        self.batches = list(batches)

    def shard_of(self, sequence_number: str) -> str:
        return "shardId-1"

    def poll(self) -> list[dict[str, Any]]:
        return self.batches.pop(0) if self.batches else []

    def lambda_event(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": records}


class Function:
    """Fails the records it is told to, `times` times each, or raises for whole batches."""

    def __init__(self, fail: dict[int, int] | None = None, raise_over: int = 0) -> None:
        self.fail = dict(fail or {})
        self.raise_over = raise_over
        self.batches: list[list[int]] = []
        self.projected: list[int] = []

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"]]
        self.batches.append(seqs)
        if self.raise_over and len(seqs) > self.raise_over:
            raise RuntimeError("the whole batch failed")
        failures = []
        for seq in seqs:
            if self.fail.get(seq, 0) > 0:
                self.fail[seq] -= 1
                failures.append({"itemIdentifier": f"{seq:06d}"})
                break  # later records of the stream are held back
            self.projected.append(seq)
        return {"batchItemFailures": failures}


def pump_all(pump: StreamPump, rounds: int = 50) -> None:
    for _ in range(rounds):
        pump.pump_once()


def make_pump(function: Function, *batches: list[dict[str, Any]]) -> tuple[StreamPump, list[Any]]:
    dead: list[Any] = []
    pump = StreamPump(MAPPING, Reader(*batches), function, dead.append)  # type: ignore[arg-type]
    return pump, dead


def test_only_new_events_pass_the_mapping_filter() -> None:
    function = Function()
    head, removal = record(2, sk=0), record(3, event_name="REMOVE")
    pump, _ = make_pump(function, [record(1), head, removal, record(4)])

    pump_all(pump)

    assert function.projected == [1, 4]


def test_a_reported_failure_is_retried_from_that_record_and_nothing_before_it_again() -> None:
    function = Function(fail={2: 1})
    pump, dead = make_pump(function, [record(1), record(2), record(3)])

    pump_all(pump)

    assert function.batches == [[1, 2, 3], [2, 3]]
    assert function.projected == [1, 2, 3] and dead == []


def test_a_record_failing_past_the_retries_goes_to_the_on_failure_queue_and_the_rest_go_on() -> (
    None
):
    function = Function(fail={2: 1000})
    poison = record(2)
    pump, dead = make_pump(function, [record(1), poison, record(3)])
    arrived = datetime.fromtimestamp(poison["dynamodb"]["ApproximateCreationDateTime"], UTC)

    pump_all(pump)

    (failure,) = dead
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["DDBStreamBatchInfo"] == {
        "shardId": "shardId-1",
        "startSequenceNumber": "000002",
        "endSequenceNumber": "000002",
        "approximateArrivalOfFirstRecord": arrived.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "approximateArrivalOfLastRecord": arrived.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "batchSize": 1,
        "streamArn": Reader.stream_arn,
    }
    assert function.projected == [1, 3]
    attempts_on_2 = sum(2 in batch for batch in function.batches)
    assert attempts_on_2 == 1 + MAPPING.max_retries


def test_a_record_older_than_the_mappings_maximum_age_is_not_delivered() -> None:
    function = Function()
    stale = record(1)
    stale["dynamodb"]["ApproximateCreationDateTime"] = time.time() - MAPPING.max_record_age_s - 60
    pump, dead = make_pump(function, [stale, record(2)])

    pump_all(pump)

    assert function.projected == [2]
    assert [d["requestContext"]["condition"] for d in dead] == ["RecordAgeExceeded"]
    assert dead[0]["DDBStreamBatchInfo"]["startSequenceNumber"] == "000001"


def test_a_function_error_bisects_the_batch_until_it_goes_through() -> None:
    function = Function(raise_over=1)
    pump, dead = make_pump(function, [record(n) for n in range(1, 5)])

    pump_all(pump)

    assert function.batches[:3] == [[1, 2, 3, 4], [1, 2], [1]]
    assert function.projected == [1, 2, 3, 4] and dead == []


def test_an_unreadable_stream_is_logged_and_the_pump_keeps_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BrokenReader(Reader):
        calls = 0

        def poll(self) -> list[dict[str, Any]]:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("moto is restarting")
            return [record(1)] if self.calls == 2 else []

    function = Function()
    pump = StreamPump(MAPPING, BrokenReader(), function, list().append)  # type: ignore[arg-type]
    pump.start()
    try:
        for _ in range(100):
            if function.projected:
                break
            pump.stopped.wait(0.05)
    finally:
        pump.stopped.set()
        pump.join(timeout=5)

    assert function.projected == [1]
    assert "reading the stream failed" in caplog.text


class Queue:
    """An SQS client's few calls the bus pump makes, over lists."""

    def __init__(self, bodies: list[dict[str, Any]], per_receive: int = 10) -> None:
        self.per_receive = per_receive
        self.messages = [
            {"Body": json.dumps(body), "ReceiptHandle": str(i), "MessageId": f"m{i}"}
            for i, body in enumerate(bodies)
        ]
        self.deleted: list[str] = []
        self.dead: list[dict[str, Any]] = []
        self.dead_bodies: list[str] = []

    def receive_message(self, **_: Any) -> dict[str, Any]:
        got, self.messages = (
            self.messages[: self.per_receive],
            self.messages[self.per_receive :],
        )
        return {"Messages": got}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> Any:
        assert len(Entries) <= 10
        self.deleted.extend(entry["ReceiptHandle"] for entry in Entries)
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}

    def send_message(self, QueueUrl: str, MessageBody: str) -> None:
        self.dead_bodies.append(MessageBody)
        if MessageBody.startswith("{") and MessageBody.endswith("}"):
            self.dead.append(json.loads(MessageBody))


def bus_event(room: str, seq: int) -> dict[str, Any]:
    return {"id": f"{room}-{seq}", "detail": {"room_id": room, "seq": seq}}


def run_bus_pump(queue: Queue, invoke: Any, chaos: Chaos = OFF) -> None:
    pump = BusPump(RULE, "target", "dlq", invoke, sqs=queue, chaos=chaos)
    expected = len(queue.messages)
    pump.start()
    try:
        for _ in range(300):
            if not queue.messages and len(queue.deleted) == expected:
                break
            pump.stopped.wait(0.02)
    finally:
        pump.stopped.set()
        pump.join(timeout=5)


def test_a_failing_bus_event_is_retried_and_holds_its_room_back_but_not_other_rooms() -> None:
    delivered: list[tuple[str, int]] = []
    failures = {("r1", 1): 2}

    def invoke(event: dict[str, Any]) -> None:
        key = (event["detail"]["room_id"], event["detail"]["seq"])
        if failures.get(key, 0) > 0:
            failures[key] -= 1
            raise RuntimeError("a connection is unreachable")
        delivered.append(key)

    queue = Queue([bus_event("r1", 1), bus_event("r2", 1), bus_event("r1", 2), bus_event("r2", 2)])

    run_bus_pump(queue, invoke)

    assert [seq for room, seq in delivered if room == "r1"] == [1, 2]
    assert [seq for room, seq in delivered if room == "r2"] == [1, 2]
    assert sorted(queue.deleted) == ["0", "1", "2", "3"] and queue.dead == []


def test_a_bus_event_failing_every_retry_goes_to_the_dlq_and_its_room_goes_on() -> None:
    delivered: list[int] = []

    def invoke(event: dict[str, Any]) -> None:
        if event["detail"]["seq"] == 1:
            raise RuntimeError("always")
        delivered.append(event["detail"]["seq"])

    queue = Queue([bus_event("r1", 1), bus_event("r1", 2), bus_event("r1", 3), bus_event("r1", 4)])

    run_bus_pump(queue, invoke)

    assert [event["id"] for event in queue.dead] == ["r1-1"]
    assert delivered == [2, 3, 4]


def test_a_room_whose_event_is_being_retried_does_not_hold_other_rooms_back() -> None:
    other_room_done = threading.Event()
    seen_while_retrying: list[bool] = []

    def invoke(event: dict[str, Any]) -> None:
        if event["detail"]["room_id"] == "r2":
            other_room_done.set()
            return
        if not seen_while_retrying:  # r1's first event: fails until r2 went through
            seen_while_retrying.append(other_room_done.wait(timeout=5))
            raise RuntimeError("a connection is unreachable")

    queue = Queue([bus_event("r1", 1), bus_event("r2", 1)], per_receive=1)  # r2 comes later

    run_bus_pump(queue, invoke)

    assert seen_while_retrying == [True]
    assert sorted(queue.deleted) == ["0", "1"] and queue.dead == []


@pytest.mark.parametrize("body", ["{not json", '{"id": "x", "detail": null}', "[1, 2]"])
def test_a_message_that_is_no_event_goes_straight_to_the_dlq_and_the_pump_goes_on(
    body: str,
) -> None:
    invoked: list[Any] = []
    queue = Queue([bus_event("r1", 1)])
    queue.messages.insert(0, {"Body": body, "ReceiptHandle": "bad"})

    run_bus_pump(queue, invoked.append)

    assert invoked == [bus_event("r1", 1)]
    assert sorted(queue.deleted) == ["0", "bad"]
    assert queue.dead_bodies == [body]


def test_an_event_being_retried_when_the_pump_stops_stays_in_the_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pumps, "backoff", lambda attempt: 60.0)
    failed_once = threading.Event()

    def invoke(event: dict[str, Any]) -> None:
        failed_once.set()
        raise RuntimeError("a connection is unreachable")

    queue = Queue([bus_event("r1", 1)])
    pump = BusPump(RULE, "target", "dlq", invoke, sqs=queue)
    pump.start()
    assert failed_once.wait(timeout=5)
    pump.stopped.set()
    pump.join(timeout=5)

    assert not pump.is_alive()
    assert queue.deleted == [] and queue.dead == []


def test_rooms_waiting_for_a_retry_hold_no_worker_so_a_healthy_room_goes_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pumps, "CONCURRENT_INVOCATIONS", 2)
    monkeypatch.setattr(pumps, "backoff", lambda attempt: 0.5)
    calls: list[tuple[str, int]] = []
    failing = {"r1": 1, "r2": 1}  # each fails its first attempt

    def invoke(event: dict[str, Any]) -> None:
        room = event["detail"]["room_id"]
        calls.append((room, event["detail"]["seq"]))
        if failing.get(room, 0) > 0:
            failing[room] -= 1
            raise RuntimeError("a connection is unreachable")

    # Both workers' rooms fail first; the healthy room arrives after them.
    queue = Queue([bus_event("r1", 1), bus_event("r2", 1), bus_event("r3", 1)], per_receive=2)

    run_bus_pump(queue, invoke)

    assert calls.index(("r3", 1)) < len(calls) - 2  # before r1's and r2's second attempts
    assert calls.count(("r1", 1)) == calls.count(("r2", 1)) == 2
    assert sorted(queue.deleted) == ["0", "1", "2"] and queue.dead == []


def test_a_hostile_bus_delivers_a_rooms_events_out_of_order_and_some_twice() -> None:
    delivered: list[int] = []
    queue = Queue([bus_event("r1", seq) for seq in range(1, 61)])

    run_bus_pump(queue, lambda event: delivered.append(event["detail"]["seq"]), HOSTILE)

    assert sorted(set(delivered)) == list(range(1, 61)) and len(queue.deleted) == 60
    assert delivered != sorted(delivered)  # 60 events in order by chance: 1 in 60!
    assert len(delivered) > 60  # 1 in 5 twice: none twice in 60 is about 1 in 650,000


def test_a_hostile_bus_delivers_an_event_twice_only_after_it_went_through() -> None:
    delivered: list[int] = []
    queue = Queue([bus_event("r1", seq) for seq in range(1, 6)])

    run_bus_pump(queue, lambda e: delivered.append(e["detail"]["seq"]), Chaos(bus_duplicate=1.0))

    assert delivered == [seq for seq in range(1, 6) for _ in (1, 2)]


def test_a_doorbell_ring_wakes_one_waiting_poller_and_is_kept_when_none_waits() -> None:
    bell = Doorbell()
    woken: list[float] = []

    def poller() -> None:
        began = time.monotonic()
        bell.wait(2.0)
        woken.append(time.monotonic() - began)

    pollers = [threading.Thread(target=poller) for _ in range(2)]
    for each in pollers:
        each.start()
    time.sleep(0.2)
    bell.set()
    for each in pollers:
        each.join()
    bell.set()
    began = time.monotonic()
    bell.wait(2.0)

    assert sorted(woken)[0] < 1.0 < sorted(woken)[1]  # one at the ring, one at its timeout
    assert time.monotonic() - began < 1.0  # the ring nobody waited for was kept

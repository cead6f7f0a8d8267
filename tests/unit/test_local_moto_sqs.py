"""The local SQS (local/moto_sqs.py) under a server that answers each call on a thread of its own:
a call that changes a queue's messages waits for another one in progress, as SQS's are atomic.

A stand-in message stops the call that reads it until the test lets it go, so the interleaving
that would break moto is played every time, not by chance."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend

from local.moto_sqs import SQS_PATCHES

ACCOUNT, REGION = "123456789012", "us-east-1"


class Stalling(Message):
    """Stops the first reader of its visibility until `go` is set."""

    def __init__(self, message_id: str) -> None:
        super().__init__(message_id, message_id)
        self.receipt_handle = f"handle-{message_id}"
        sent_now(self)
        self.reached, self.go = threading.Event(), threading.Event()

    @property
    def visible(self) -> bool:
        if not self.reached.is_set():
            self.reached.set()
            self.go.wait(10)
        return True

    def __deepcopy__(self, memo: dict[int, object]) -> Message:  # what a receive hands out
        return message(self.id, self.group_id)


@pytest.fixture(autouse=True)
def patched(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for owner, name, wrap in SQS_PATCHES:
        monkeypatch.setattr(owner, name, wrap(getattr(owner, name)))
    yield


def fifo_queue(name: str) -> tuple[SQSBackend, Queue]:
    backend = SQSBackend(REGION, ACCOUNT)
    return backend, backend.create_queue(name, FifoQueue="true")


def sent_now(made: Message) -> None:
    made.sent_timestamp = int(time.time() * 1000)  # type: ignore[assignment]  # moto: None until sent


def message(message_id: str, group: str | None = None) -> Message:
    made = Message(message_id, message_id)
    made.receipt_handle, made.group_id = f"handle-{message_id}", group
    sent_now(made)
    return made


def while_stalled(stalling: Stalling, first: threading.Thread, second: threading.Thread) -> None:
    """`first` runs until it reads the stalling message; `second` is given its chance to run
    then; then both finish."""
    first.start()
    assert stalling.reached.wait(10)
    second.start()
    second.join(0.3)  # it would run now, were nothing holding it
    stalling.go.set()
    first.join(10)
    second.join(10)


def test_a_receive_and_a_delete_of_one_fifo_queue_never_trip_over_each_other() -> None:
    backend, queue = fifo_queue("room-events.fifo")
    stalling = Stalling("pending")
    stalling.group_id = "room#a"
    other = message("other", "room#b")
    other.change_visibility(30)  # received, in flight: its handle deletes it
    queue._messages += [stalling, other]
    queue.pending_messages.update({stalling, other})  # both received before
    failures: list[Exception] = []

    def receive() -> None:
        try:
            backend.receive_message(queue.name, 10, 0, 30)
        except Exception as error:
            failures.append(error)

    receiving = threading.Thread(target=receive)
    deleting = threading.Thread(target=queue.delete_message, args=("handle-other",))
    while_stalled(stalling, receiving, deleting)

    assert failures == []
    assert other not in queue._messages


def sent(backend: SQSBackend, queue: Queue, *bodies: str) -> None:
    for body in bodies:
        backend.send_message(queue.name, body, deduplication_id=body, group_id="room")


def bodies(received: list[Message]) -> list[str]:
    return [m.body for m in received]


def handle(received: Message) -> str:
    assert received.receipt_handle is not None  # moto: None until received
    return received.receipt_handle


def test_a_late_visibility_change_of_a_message_no_longer_in_flight_is_refused_as_in_sqs() -> None:
    """A request of an earlier receive that reaches the queue late must not hide a message that
    is visible again, or its group's next message goes out before it."""
    backend, queue = fifo_queue("late.fifo")
    sent(backend, queue, "1180", "1181")
    first = backend.receive_message(queue.name, 10, 0, 30)
    earlier_handle = handle(first[0])
    backend.change_message_visibility(queue.name, earlier_handle, 0)  # the failure's retry: now
    backend.change_message_visibility(queue.name, handle(first[1]), 0)
    sent(backend, queue, "1182")

    with pytest.raises(ReceiptHandleIsInvalid, match="isn't in flight"):
        backend.change_message_visibility(queue.name, earlier_handle, 1)

    assert bodies(backend.receive_message(queue.name, 10, 0, 30)) == ["1180", "1181", "1182"]


def test_a_visibility_change_by_a_receipt_handle_of_an_earlier_receive_is_refused() -> None:
    backend, queue = fifo_queue("stale.fifo")
    sent(backend, queue, "1180")
    (first,) = backend.receive_message(queue.name, 10, 0, 30)
    backend.change_message_visibility(queue.name, handle(first), 0)
    (again,) = backend.receive_message(queue.name, 10, 0, 30)

    with pytest.raises(ReceiptHandleIsInvalid):
        backend.change_message_visibility(queue.name, handle(first), 0)
    backend.change_message_visibility(queue.name, handle(again), 0)  # the latest one may


def test_a_fifo_message_is_deleted_by_its_latest_receipt_handle_only() -> None:
    """A delete that comes after the message went to another receiver must not delete it: that
    receiver may fail, and SQS then delivers the message again."""
    backend, queue = fifo_queue("deletes.fifo")
    sent(backend, queue, "1180")
    (first,) = backend.receive_message(queue.name, 10, 0, 30)
    earlier = handle(first)
    backend.change_message_visibility(queue.name, earlier, 0)

    with pytest.raises(ReceiptHandleIsInvalid, match="expired"):
        backend.delete_message(queue.name, earlier)  # visible again: no longer its handle's
    (again,) = backend.receive_message(queue.name, 10, 0, 30)
    with pytest.raises(ReceiptHandleIsInvalid, match="expired"):
        backend.delete_message(queue.name, earlier)
    backend.delete_message(queue.name, handle(again))

    assert backend.receive_message(queue.name, 10, 0, 0) == []


def test_a_standard_queue_takes_a_delete_by_an_earlier_handle_and_keeps_the_message() -> None:
    backend = SQSBackend(REGION, ACCOUNT)
    queue = backend.create_queue("deletes")
    backend.send_message(queue.name, "hello")
    (first,) = backend.receive_message(queue.name, 10, 0, 30)
    backend.change_message_visibility(queue.name, handle(first), 0)
    (again,) = backend.receive_message(queue.name, 10, 0, 30)

    backend.delete_message(queue.name, handle(first))  # answered, as SQS answers it
    backend.change_message_visibility(queue.name, handle(again), 0)

    assert bodies(backend.receive_message(queue.name, 10, 0, 0)) == ["hello"]


def test_a_batch_delete_names_why_it_kept_a_message() -> None:
    backend, queue = fifo_queue("batch.fifo")
    sent(backend, queue, "1180")
    (first,) = backend.receive_message(queue.name, 10, 0, 30)
    backend.change_message_visibility(queue.name, handle(first), 0)

    deleted, refused = backend.delete_message_batch(
        queue.name, [{"Id": "0", "ReceiptHandle": handle(first)}]
    )

    assert deleted == []
    assert [(r["Id"], r["Code"]) for r in refused] == [("0", "InvalidParameterValue")]
    assert "expired" in refused[0]["Message"]

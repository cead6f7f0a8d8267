"""moto's SQS FIFO receive, made to keep a message group in order as SQS does.

moto keeps a set of received messages ("pending") to hold back their groups, and takes a message
out of it only when the receive loop reaches that message. When two messages of one group time
out together, the loop reaches the first while the second is still pending, skips the first (its
group looks in flight) and hands out the second: the group comes back out of order. It also lets
two concurrent receives take the same group. Here a FIFO receive first forgets every pending
message that is visible again (its visibility ran out: it is in flight no more), and FIFO receives
run one at a time, answered at once (moto's long poll spins while a group is in flight; the
local pumps short-poll FIFO queues).

moto also computes every attribute of a queue, counting its messages one by one, to read the
retention period of each message it hands out: a receive cost the square of the queue's depth,
and a backlog slowed the whole process down until its calls timed out. The retention period is
read as it is.

And moto deduplicates a FIFO message only against messages still in the queue: once the first
was received and deleted, a retried send with the same deduplication id went through and was
delivered again, after later messages of its group. SQS drops it for five minutes whatever became
of the first (a projector retry depends on that: the soak saw frames out of order without it).

A visibility change is taken, as SQS takes it, only for a message in flight and by its latest
receipt handle: moto changed any message that ever had the handle, so a late request of an earlier
receive hid a message that was visible again without holding its group back, and the group's next
message went out first. A delete too is taken by the latest receipt handle only (a FIFO queue
refuses an earlier one, or one whose message is visible again).

Last, the server answers each request on a thread of its own, and moto's queue takes no lock but to
append: a receive walked the set of received messages while a delete took one out of it, and failed
with "Set changed size during iteration" (the broadcaster's batch with it), and a send landing
between a delete's walk of the message list and its replacement of it would be lost. Every call
that changes a queue's messages holds the queue's own lock (its long poll's wait lets go of it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from moto.core.utils import unix_time
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import DEDUPLICATION_TIME_IN_SECONDS, Message, Queue, SQSBackend


def _queue_lock(queue: Queue) -> threading.Condition:
    """The condition moto appends under and long polls on; its lock is reentrant."""
    lock: threading.Condition = queue._messages_lock
    return lock


def _in_group_order(receive_message: Callable[..., Any]) -> Callable[..., Any]:
    def _receive_message(
        self: SQSBackend, queue_name: str, count: int, wait_seconds_timeout: int, *rest: Any
    ) -> Any:
        queue = self.get_queue(queue_name)
        with _queue_lock(queue):
            if not queue.fifo_queue:
                return receive_message(self, queue_name, count, wait_seconds_timeout, *rest)
            for message in [m for m in queue.pending_messages if m.visible]:
                queue.pending_messages.discard(message)
            return receive_message(self, queue_name, count, 0, *rest)

    return _receive_message


def _retention_read(_: Callable[..., bool]) -> Callable[..., bool]:
    def is_message_valid_based_on_retention_period(
        self: SQSBackend, queue_name: str, message: Message
    ) -> bool:
        queue: Any = self.get_queue(queue_name)  # its attributes are set by name
        retention_s = int(queue.message_retention_period)
        return bool(retention_s + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]

    return is_message_valid_based_on_retention_period


_SENT = threading.Lock()


def _deduplicated_for_five_minutes(add_message: Callable[..., None]) -> Callable[..., None]:
    def _add_message(self: Queue, message: Message) -> None:
        if not self.fifo_queue or not message.deduplication_id:
            add_message(self, message)
            return
        queue: Any = self  # its attributes are set by name
        by_group = queue.deduplication_scope == "messageGroup"
        key = (message.group_id if by_group else None, message.deduplication_id)
        now = message.sent_timestamp / 1000  # type: ignore[operator]
        with _SENT:
            sent: OrderedDict[tuple[str | None, str], float] = queue.__dict__.setdefault(
                "_sent_ids", OrderedDict()
            )
            while sent and now - next(iter(sent.values())) >= DEDUPLICATION_TIME_IN_SECONDS:
                sent.popitem(last=False)  # oldest first: they were sent in this order
            if key in sent:
                return  # accepted, and not delivered again
            sent[key] = now
        add_message(self, message)

    return _add_message


def _holding(queue_of: Callable[..., Queue]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A patch that runs a method under the lock of the queue `queue_of` finds from its call."""

    def patch(method: Callable[..., Any]) -> Callable[..., Any]:
        def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _queue_lock(queue_of(self, *args, **kwargs)):
                return method(self, *args, **kwargs)

        return locked

    return patch


def _itself(queue: Queue, *_: Any, **__: Any) -> Queue:
    return queue


def _named(backend: SQSBackend, queue_name: str, *_: Any, **__: Any) -> Queue:
    return backend.get_queue(queue_name)


def _received_with(queue: Queue, receipt_handle: str) -> Message | None:
    """The queue's message that was ever handed out with `receipt_handle`."""
    return next((m for m in queue._messages if m.had_receipt_handle(receipt_handle)), None)


class MessageNotInflight(ReceiptHandleIsInvalid):
    def __init__(self) -> None:
        super().__init__()
        self.code = "AWS.SimpleQueueService.MessageNotInflight"
        self.message = "The message referred to isn't in flight."


def _in_flight_only(change: Callable[..., None]) -> Callable[..., None]:
    def change_message_visibility(
        self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        """As SQS: only a message in flight, by its latest receipt handle. moto changed any
        message that ever had the handle: a late request of an earlier receive made a message
        that was visible again invisible without holding its group, and the group's next
        message went out before it (the soak saw a room's seqs 1180-1185 after 1186-1192)."""
        queue = self.get_queue(queue_name)
        with _queue_lock(queue):
            found = _received_with(queue, receipt_handle)
            if found is not None and found.receipt_handle != receipt_handle:
                raise ReceiptHandleIsInvalid()
            if found is not None and (found.visible or found not in queue.pending_messages):
                raise MessageNotInflight()
            change(self, queue_name, receipt_handle, visibility_timeout)

    return change_message_visibility


class ReceiptHandleExpired(ReceiptHandleIsInvalid):
    def __init__(self, receipt_handle: str) -> None:
        super().__init__()
        self.code = "InvalidParameterValue"
        self.message = (
            f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: The receipt "
            "handle has expired."
        )


def _latest_handle_only(delete: Callable[[Queue, str], None]) -> Callable[[Queue, str], None]:
    def delete_message(self: Queue, receipt_handle: str) -> None:
        """As SQS: a message is deleted by its latest receipt handle only. Given an earlier one,
        a standard queue answers success and keeps the message; a FIFO queue refuses, as it
        refuses a handle whose message is visible again. moto deleted by any handle the message
        ever had, so a delete that came late, after the message had gone to another receiver
        whose invocation then failed, lost it locally where SQS would deliver it again."""
        found = _received_with(self, receipt_handle)
        if found is not None and receipt_handle not in self.deleted_messages:
            expired = found.receipt_handle != receipt_handle
            if self.fifo_queue and (expired or found.visible):
                raise ReceiptHandleExpired(receipt_handle)
            if expired:
                return
        delete(self, receipt_handle)

    return delete_message


def _reasons_kept(_: Callable[..., Any]) -> Callable[..., Any]:
    def delete_message_batch(
        self: SQSBackend, queue_name: str, receipts: list[dict[str, Any]]
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """moto's batch, but each refusal with its own code and message (moto's says "not a
        valid receipt handle" for an expired one too)."""
        deleted: list[str] = []
        refused: list[dict[str, Any]] = []
        for receipt in receipts:
            try:
                self.delete_message(queue_name, receipt["ReceiptHandle"])
                deleted.append(receipt["Id"])
            except ReceiptHandleIsInvalid as error:
                refused.append(
                    {
                        "Id": receipt["Id"],
                        "SenderFault": True,
                        "Code": error.code,
                        "Message": error.message,
                    }
                )
        return deleted, refused

    return delete_message_batch


SQS_PATCHES: tuple[tuple[Any, str, Callable[[Any], Any]], ...] = (
    (SQSBackend, "receive_message", _in_group_order),
    (SQSBackend, "is_message_valid_based_on_retention_period", _retention_read),
    (Queue, "add_message", _deduplicated_for_five_minutes),
    (Queue, "delete_message", _latest_handle_only),  # under the queue's lock (next)
    (Queue, "delete_message", _holding(_itself)),
    (SQSBackend, "change_message_visibility", _in_flight_only),
    (SQSBackend, "delete_message_batch", _reasons_kept),
    (SQSBackend, "purge_queue", _holding(_named)),
)
SQS_CALLED: tuple[tuple[Any, str], ...] = ((SQSBackend, "get_queue"),)

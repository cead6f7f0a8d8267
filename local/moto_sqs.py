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
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.core.utils import unix_time
from moto.sqs.models import Message, SQSBackend

_FIFO_RECEIVE = threading.Lock()


def _in_group_order(receive_message: Callable[..., Any]) -> Callable[..., Any]:
    def _receive_message(
        self: SQSBackend, queue_name: str, count: int, wait_seconds_timeout: int, *rest: Any
    ) -> Any:
        queue = self.get_queue(queue_name)
        if not queue.fifo_queue:
            return receive_message(self, queue_name, count, wait_seconds_timeout, *rest)
        with _FIFO_RECEIVE:
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


SQS_PATCHES: tuple[tuple[Any, str, Callable[[Any], Any]], ...] = (
    (SQSBackend, "receive_message", _in_group_order),
    (SQSBackend, "is_message_valid_based_on_retention_period", _retention_read),
)
SQS_CALLED: tuple[tuple[Any, str], ...] = ((SQSBackend, "get_queue"),)

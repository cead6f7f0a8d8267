"""moto's SQS FIFO receive, made to keep a message group in order as SQS does.

moto keeps a set of received messages ("pending") to hold back their groups, and takes a message
out of it only when the receive loop reaches that message. When two messages of one group time
out together, the loop reaches the first while the second is still pending, skips the first (its
group looks in flight) and hands out the second: the group comes back out of order. It also lets
two concurrent receives take the same group. Here a FIFO receive first forgets every pending
message that is visible again (its visibility ran out: it is in flight no more), and FIFO receives
run one at a time, answered at once (moto's long poll spins while a group is in flight; the
local pumps short-poll FIFO queues).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.sqs.models import SQSBackend

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


SQS_PATCHES: tuple[tuple[Any, str, Callable[[Any], Any]], ...] = (
    (SQSBackend, "receive_message", _in_group_order),
)
SQS_CALLED: tuple[tuple[Any, str], ...] = ((SQSBackend, "get_queue"),)

"""The topology's queues: encrypted; FIFO ones deduplicated per message group (each group its own
throughput), with their redrive policy to their dead-letter queue."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.topology import (
    FIFO_DEDUPLICATION_SCOPE,
    FIFO_THROUGHPUT_LIMIT,
    Queue,
    queue_name,
)


@dataclass
class QueuesArgs:
    queues: tuple[Queue, ...]
    prefix: str


class Queues(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: QueuesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:Queues", name, None, opts)
        self.queues: dict[str, aws.sqs.Queue] = {}
        for queue in args.queues:  # a dead-letter queue comes before the queues that name it
            self.queues[queue.name] = self._queue(queue, args.prefix)
        self.register_outputs({name: queue.url for name, queue in self.queues.items()})

    def _queue(self, queue: Queue, prefix: str) -> aws.sqs.Queue:
        redrive = (
            pulumi.Output.json_dumps(
                {
                    "deadLetterTargetArn": self.queues[queue.dead_letter_queue].arn,
                    "maxReceiveCount": queue.max_receive_count,
                }
            )
            if queue.dead_letter_queue
            else None
        )
        return aws.sqs.Queue(
            queue.name,
            name=queue_name(prefix, queue),
            message_retention_seconds=queue.retention_s,
            visibility_timeout_seconds=queue.visibility_timeout_s,
            redrive_policy=redrive,
            sqs_managed_sse_enabled=True,
            tags={"chat:purpose": queue.purpose[:250]},
            # FIFO: senders give each message its id, deduplicated and throttled per group
            fifo_queue=queue.fifo or None,
            content_based_deduplication=False if queue.fifo else None,
            deduplication_scope=FIFO_DEDUPLICATION_SCOPE if queue.fifo else None,
            fifo_throughput_limit=FIFO_THROUGHPUT_LIMIT if queue.fifo else None,
            opts=pulumi.ResourceOptions(parent=self),
        )

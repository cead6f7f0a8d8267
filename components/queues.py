"""The topology's queues (dead-letter queues today): encrypted, kept as long as SQS allows."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.topology import Queue


@dataclass
class QueuesArgs:
    queues: tuple[Queue, ...]
    prefix: str


class Queues(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: QueuesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:Queues", name, None, opts)
        self.queues = {
            queue.name: aws.sqs.Queue(
                queue.name,
                name=f"{args.prefix}-{queue.name}",
                message_retention_seconds=queue.retention_s,
                sqs_managed_sse_enabled=True,
                tags={"chat:purpose": queue.purpose[:250]},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for queue in args.queues
        }
        self.register_outputs({name: queue.url for name, queue in self.queues.items()})

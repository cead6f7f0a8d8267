"""Creates the topology's resources in the local cloud (moto), as the Pulumi program does on AWS."""

from __future__ import annotations

import json
from dataclasses import dataclass

from adapters.aws import client
from adapters.tables import create_table
from components.topology import (
    BUCKETS,
    FIFO_DEDUPLICATION_SCOPE,
    FIFO_THROUGHPUT_LIMIT,
    QUEUES,
    TABLES,
    Queue,
    physical_name,
    queue_name,
)


@dataclass(frozen=True)
class Stage:
    """Names of one provisioned stage; `env()` is what the functions receive."""

    prefix: str
    tables: dict[str, str]
    bus: str
    stream_arns: dict[str, str]  # logical table name -> its stream's ARN
    queues: dict[str, str]  # logical name -> queue URL
    buckets: dict[str, str]  # logical name -> bucket name

    @property
    def events_stream_arn(self) -> str:
        return self.stream_arns["events"]

    def env(self) -> dict[str, str]:
        names = {table.env_var: self.tables[table.name] for table in TABLES if table.env_var}
        buckets = {bucket.env_var: self.buckets[bucket.name] for bucket in BUCKETS}
        queues = {queue.env_var: self.queues[queue.name] for queue in QUEUES if queue.env_var}
        return {**names, **buckets, **queues, "EVENT_BUS_NAME": self.bus}


def provision(prefix: str) -> Stage:
    dynamodb = client("dynamodb")
    names: dict[str, str] = {}
    stream_arns: dict[str, str] = {}
    for table in TABLES:
        name = physical_name(prefix, table)
        description = create_table(table, name, dynamodb)
        names[table.name] = name
        if table.stream:
            stream_arns[table.name] = description["LatestStreamArn"]
    bus = f"{prefix}-bus"
    client("events").create_event_bus(Name=bus)
    buckets = {}
    for bucket in BUCKETS:
        name = f"{prefix}-{bucket.name}"
        client("s3").create_bucket(Bucket=name)
        client("s3").put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        client("s3").put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        buckets[bucket.name] = name
    queues: dict[str, str] = {}
    for queue in QUEUES:  # a dead-letter queue before the queue that names it (topology order)
        queues[queue.name] = create_queue(prefix, queue, queues)
    return Stage(prefix, names, bus, stream_arns, queues, buckets)


def create_queue(prefix: str, queue: Queue, created: dict[str, str]) -> str:
    """The queue with the attributes the Pulumi program gives it; its URL."""
    sqs = client("sqs")
    attributes = {
        "MessageRetentionPeriod": str(queue.retention_s),
        "VisibilityTimeout": str(queue.visibility_timeout_s),
    }
    if queue.fifo:
        attributes |= {
            "FifoQueue": "true",
            "ContentBasedDeduplication": "false",
            "DeduplicationScope": FIFO_DEDUPLICATION_SCOPE,
            "FifoThroughputLimit": FIFO_THROUGHPUT_LIMIT,
        }
    if queue.dead_letter_queue:
        dlq = sqs.get_queue_attributes(
            QueueUrl=created[queue.dead_letter_queue], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq, "maxReceiveCount": queue.max_receive_count}
        )
    url: str = sqs.create_queue(QueueName=queue_name(prefix, queue), Attributes=attributes)[
        "QueueUrl"
    ]
    return url

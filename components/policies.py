"""Least-privilege IAM statements for one function, derived from what the topology says it touches.

Every statement names its actions and its resources. The only `*` resource is X-Ray's and the
stream's ListStreams, which have no resource-level permissions (AWS requires "*" for them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.topology import Access, Function, Topology

TABLE_ACTIONS: dict[Access, tuple[str, ...]] = {
    # Transactions need no actions of their own: TransactGetItems is checked as GetItem.
    "read": ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"),
    "write": (
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        # TransactWriteItems is checked per item as these four.
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:BatchWriteItem",
    ),
    # The log: nothing is ever updated; deletes get a statement of their own (below), for the
    # partitions the table allows.
    "append": (
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
    ),
}
# Presigned URLs carry the function's own rights: downloads need GetObject, uploads PutObject.
BUCKET_ACTIONS: dict[Access, tuple[str, ...]] = {
    "read": ("s3:GetObject",),
    "write": ("s3:GetObject", "s3:PutObject"),
}
QUEUE_CONSUMER_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
)
STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")


@dataclass
class Grants:
    """The stage's ARNs a function may be granted, by the topology's logical names."""

    tables: Mapping[str, pulumi.Input[str]]
    streams: Mapping[str, pulumi.Input[str]]  # table name -> its stream ARN
    buckets: Mapping[str, pulumi.Input[str]]
    queues: Mapping[str, pulumi.Input[str]]
    bus: pulumi.Input[str]
    connections: pulumi.Input[str]  # execute-api ARN of the WebSocket stage's POST @connections
    key_prefixes: Mapping[str, str] = field(default_factory=dict)


def _sid(*words: str) -> str:
    return "".join(re.sub(r"[^A-Za-z0-9]", " ", word).title().replace(" ", "") for word in words)


def statements(
    function: Function, topology: Topology, grants: Grants, log_group_arn: pulumi.Input[str]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": pulumi.Output.concat(log_group_arn, ":*"),
        },
        {
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            # X-Ray has no resource-level permissions: AWS requires "*".
            "Resource": "*",
        },
    ]
    for table, access in sorted(function.tables.items()):
        found.append(
            {
                "Sid": _sid("table", table, access),
                "Effect": "Allow",
                "Action": list(TABLE_ACTIONS[access]),
                "Resource": grants.tables[table],
            }
        )
        prefixes = next(t for t in topology.tables if t.name == table).deletable_key_prefixes
        if access == "append" and prefixes:
            found.append(
                {
                    "Sid": _sid("table", table, "deletes"),
                    "Effect": "Allow",
                    "Action": ["dynamodb:DeleteItem"],
                    "Resource": grants.tables[table],
                    # Checked for each item of a transaction too.
                    "Condition": {
                        "ForAllValues:StringLike": {
                            "dynamodb:LeadingKeys": [prefix + "*" for prefix in prefixes]
                        }
                    },
                }
            )
    for bucket, access in sorted(function.buckets.items()):
        prefix = grants.key_prefixes.get(bucket, "")
        found.append(
            {
                "Sid": _sid("bucket", bucket, access),
                "Effect": "Allow",
                "Action": list(BUCKET_ACTIONS[access]),
                "Resource": pulumi.Output.concat(grants.buckets[bucket], "/", prefix, "*"),
            }
        )
    if function.publishes:
        found.append(
            {
                "Sid": "PublishToBus",
                "Effect": "Allow",
                "Action": ["events:PutEvents"],
                "Resource": grants.bus,
            }
        )
    if function.manages_connections:
        found.append(
            {
                "Sid": "PostToConnections",
                "Effect": "Allow",
                "Action": ["execute-api:ManageConnections"],
                "Resource": grants.connections,
            }
        )
    for mapping in topology.stream_mappings:
        if mapping.function != function.name:
            continue
        found += [
            {
                "Sid": _sid("read stream", mapping.table),
                "Effect": "Allow",
                "Action": list(STREAM_ACTIONS),
                "Resource": grants.streams[mapping.table],
            },
            {
                "Sid": _sid("list streams", mapping.table),
                "Effect": "Allow",
                "Action": ["dynamodb:ListStreams"],
                # ListStreams has no resource-level permissions: AWS requires "*".
                "Resource": "*",
            },
            {
                # The event source mapping sends poison records' metadata with the function's role.
                "Sid": _sid("on failure", mapping.on_failure_queue),
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": grants.queues[mapping.on_failure_queue],
            },
        ]
    for queue in function.sends_to:
        found.append(
            {
                "Sid": _sid("send to", queue),
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": grants.queues[queue],
            }
        )
    for queue_mapping in topology.queue_mappings:
        if queue_mapping.function == function.name:
            found.append(
                {
                    # The event source mapping receives and deletes with the function's role; the
                    # function itself brings failed messages back sooner.
                    "Sid": _sid("consume", queue_mapping.queue),
                    "Effect": "Allow",
                    "Action": list(QUEUE_CONSUMER_ACTIONS),
                    "Resource": grants.queues[queue_mapping.queue],
                }
            )
    for rule in topology.bus_rules:
        if rule.function == function.name and rule.dead_letter_queue:
            found.append(
                {
                    # Lambda's async on-failure destination sends with the function's role.
                    "Sid": _sid("on failure", rule.dead_letter_queue),
                    "Effect": "Allow",
                    "Action": ["sqs:SendMessage"],
                    "Resource": grants.queues[rule.dead_letter_queue],
                }
            )
    return found


def document(found: list[dict[str, Any]]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": found})


def service_may(
    sid: str, service: str, action: str, resource: pulumi.Input[str], condition: dict[str, Any]
) -> pulumi.Output[str]:
    """A resource policy letting one AWS service act, under a condition naming who it acts for."""
    statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": action,
        "Resource": resource,
        "Condition": condition,
    }
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [statement]})


def assume_role(service: str) -> str:
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

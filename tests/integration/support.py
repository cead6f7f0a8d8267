"""Helpers the integration tests share: a Lambda context, and a tap on the event bus."""

from __future__ import annotations

import json
from typing import Any

from adapters.aws import client
from local.lambdas import FakeContext
from local.provision import Stage

__all__ = ["FakeContext", "tap"]


def tap(stage: Stage, name: str, pattern: dict[str, Any]) -> str:
    """A queue that gets every bus event matching `pattern`, routed by a rule as on AWS."""
    sqs, events = client("sqs"), client("events")
    url: str = sqs.create_queue(QueueName=f"{stage.prefix}-{name}")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    events.put_rule(Name=name, EventBusName=stage.bus, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=name,
        EventBusName=stage.bus,
        Targets=[{"Id": name, "Arn": attributes["Attributes"]["QueueArn"]}],
    )
    return url


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Every bus event waiting in a tap, oldest first."""
    sqs = client("sqs")
    out: list[dict[str, Any]] = []
    while got := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in got:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return out

"""The chat bus and its archive (analysts replay from it); the rules join once the functions
exist."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.policies import service_may
from components.topology import BusRule


@dataclass
class EventBusArgs:
    prefix: str
    archive_retention_days: int


class EventBus(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EventBusArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:EventBus", name, None, opts)
        self.bus = aws.cloudwatch.EventBus(
            "bus", name=f"{args.prefix}-bus", opts=pulumi.ResourceOptions(parent=self)
        )
        self.archive = aws.cloudwatch.EventArchive(
            "archive",
            name=f"{args.prefix}-bus",
            event_source_arn=self.bus.arn,
            retention_days=args.archive_retention_days,
            description="every chat event on the bus, for analysts' replays",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"bus": self.bus.name, "archive": self.archive.name})


@dataclass
class BusRulesArgs:
    rules: tuple[BusRule, ...]
    bus: aws.cloudwatch.EventBus
    functions: Mapping[str, aws.lambda_.Function]
    queues: Mapping[str, aws.sqs.Queue]


class BusRules(pulumi.ComponentResource):
    """Each rule invokes its function asynchronously. Two layers of retry meet here: EventBridge
    retries getting the event to Lambda (the target's retry policy, then the DLQ), and Lambda
    retries a function that fails (the async invoke config, then the same DLQ)."""

    def __init__(
        self, name: str, args: BusRulesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:BusRules", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.rules: dict[str, aws.cloudwatch.EventRule] = {}
        senders: dict[str, list[pulumi.Output[str]]] = {}
        for rule in args.rules:
            function = args.functions[rule.function]
            dlq = args.queues[rule.dead_letter_queue]
            created = aws.cloudwatch.EventRule(
                rule.name,
                name=rule.name,  # rules live on the stage's own bus
                event_bus_name=args.bus.name,
                event_pattern=json.dumps(rule.event_pattern()),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                rule.name,
                rule=created.name,
                event_bus_name=args.bus.name,
                arn=function.arn,
                retry_policy={
                    "maximum_retry_attempts": rule.max_retries,
                    "maximum_event_age_in_seconds": rule.max_event_age_s,
                },
                dead_letter_config={"arn": dlq.arn},
                opts=child,
            )
            aws.lambda_.Permission(
                f"bus-{rule.name}",
                action="lambda:InvokeFunction",
                function=function.name,
                principal="events.amazonaws.com",
                source_arn=created.arn,
                opts=child,
            )
            aws.lambda_.FunctionEventInvokeConfig(
                rule.name,
                function_name=function.name,
                maximum_event_age_in_seconds=rule.max_event_age_s,
                maximum_retry_attempts=2,  # Lambda's ceiling for async retries
                destination_config={"on_failure": {"destination": dlq.arn}},
                opts=child,
            )
            senders.setdefault(rule.dead_letter_queue, []).append(created.arn)
            self.rules[rule.name] = created
        for queue, rule_arns in senders.items():
            self._let_rules_send(queue, args.queues[queue], rule_arns)
        self.register_outputs({name: rule.arn for name, rule in self.rules.items()})

    def _let_rules_send(
        self, name: str, queue: aws.sqs.Queue, rule_arns: list[pulumi.Output[str]]
    ) -> None:
        """The DLQ's policy: EventBridge may send to it on behalf of these rules only."""
        aws.sqs.QueuePolicy(
            name,
            queue_url=queue.url,
            policy=service_may(
                "RulesDeadLetters",
                "events.amazonaws.com",
                "sqs:SendMessage",
                queue.arn,
                {"ArnEquals": {"aws:SourceArn": rule_arns}},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

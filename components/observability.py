"""Alarms that page (through one SNS topic, with an email subscription when configured) and one
dashboard. What each alarm means and what to do: docs/operations.md."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.topology import StreamMapping

FIVE_MINUTES = 300


@dataclass
class ObservabilityArgs:
    prefix: str
    region: str
    alarm_email: str
    functions: Mapping[str, aws.lambda_.Function]
    dead_letter_queues: Mapping[str, aws.sqs.Queue]
    delivery_queues: Mapping[str, aws.sqs.Queue]  # members' frames wait in these
    mappings: tuple[StreamMapping, ...]
    iterator_age_alarm_s: int
    http_api_id: pulumi.Input[str]
    ws_api_id: pulumi.Input[str]


class Observability(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # No KMS key: CloudWatch cannot publish to a topic under the AWS managed SNS key, and an
        # alarm's name and state are no secret.
        self.topic = aws.sns.Topic("alarms", name=f"{args.prefix}-alarms", opts=child)
        if args.alarm_email:
            aws.sns.TopicSubscription(
                "alarm-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=args.alarm_email,
                opts=child,
            )
        self.alarms = {spec.name: self._alarm(args.prefix, spec) for spec in alarm_specs(args)}
        self.dashboard = aws.cloudwatch.Dashboard(
            "dashboard",
            dashboard_name=args.prefix,
            dashboard_body=pulumi.Output.json_dumps(_dashboard(args)),
            opts=child,
        )
        self.register_outputs({"topic": self.topic.arn, "dashboard": self.dashboard.dashboard_name})

    def _alarm(self, prefix: str, spec: AlarmSpec) -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            spec.name,
            name=f"{prefix}-{spec.name}",
            alarm_description=spec.description,
            namespace=spec.namespace,
            metric_name=spec.metric,
            dimensions={spec.dimension: spec.value},
            statistic=spec.statistic,
            period=spec.period,
            evaluation_periods=1,
            threshold=spec.threshold,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            opts=pulumi.ResourceOptions(parent=self),
        )


@dataclass(frozen=True)
class AlarmSpec:
    name: str
    description: str
    namespace: str
    metric: str
    dimension: str
    value: pulumi.Input[str]
    statistic: str = "Sum"
    threshold: float = 0  # alarms when the statistic is above it
    period: int = FIVE_MINUTES


def alarm_specs(args: ObservabilityArgs) -> list[AlarmSpec]:
    dlq = "a message reached a dead-letter queue: docs/operations.md says how to read and redrive"
    specs = [
        AlarmSpec(
            f"{key}-not-empty",
            dlq,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            queue.name,
            "Maximum",
            period=60,
        )
        for key, queue in args.dead_letter_queues.items()
    ]
    specs += [
        AlarmSpec(
            f"{key}-late",
            f"{key}: a message has waited over a minute; members get frames late (clients catch "
            "up after a gap, so nothing is lost, but live delivery is behind)",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            "QueueName",
            queue.name,
            "Maximum",
            threshold=60,
            period=60,
        )
        for key, queue in args.delivery_queues.items()
    ]
    specs += [
        AlarmSpec(
            f"{m.function}-iterator-age",
            f"{m.function} is behind the {m.table} stream: views and deliveries are late",
            "AWS/Lambda",
            "IteratorAge",
            "FunctionName",
            args.functions[m.function].name,
            "Maximum",
            threshold=args.iterator_age_alarm_s * 1000,
            period=60,
        )
        for m in args.mappings
    ]
    specs += [
        AlarmSpec(
            f"{key}-{metric.lower()}",
            f"{key}: {metric.lower()} in the last 5 minutes",
            "AWS/Lambda",
            metric,
            "FunctionName",
            function.name,
        )
        for key, function in args.functions.items()
        for metric in ("Errors", "Throttles")
    ]
    return [
        *specs,
        AlarmSpec(
            "http-5xx",
            "the HTTP API answered 5xx",
            "AWS/ApiGateway",
            "5xx",
            "ApiId",
            args.http_api_id,
        ),
        AlarmSpec(
            "ws-integration-errors",
            "WebSocket routes failed in their functions",
            "AWS/ApiGateway",
            "IntegrationError",
            "ApiId",
            args.ws_api_id,
        ),
    ]


def _widget(title: str, metrics: list[list[Any]], region: str, stat: str = "Sum") -> dict[str, Any]:
    return {
        "type": "metric",
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "stat": stat,
            "period": 60,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def _dashboard(args: ObservabilityArgs) -> dict[str, Any]:
    names = {key: function.name for key, function in args.functions.items()}
    region = args.region
    lambda_metrics = [
        ["AWS/Lambda", metric, "FunctionName", name]
        for metric in ("Errors", "Throttles")
        for name in names.values()
    ]
    return {
        "widgets": [
            _widget(
                "HTTP API: requests, 4xx, 5xx",
                [
                    ["AWS/ApiGateway", metric, "ApiId", args.http_api_id]
                    for metric in ("Count", "4xx", "5xx")
                ],
                region,
            ),
            _widget(
                "HTTP API latency p99 (ms)",
                [["AWS/ApiGateway", "Latency", "ApiId", args.http_api_id]],
                region,
                "p99",
            ),
            _widget(
                "WebSocket: connects, messages, errors",
                [
                    ["AWS/ApiGateway", metric, "ApiId", args.ws_api_id]
                    for metric in ("ConnectCount", "MessageCount", "IntegrationError")
                ],
                region,
            ),
            _widget("Functions: errors and throttles", lambda_metrics, region),
            _widget(
                "Functions: duration p99 (ms)",
                [["AWS/Lambda", "Duration", "FunctionName", name] for name in names.values()],
                region,
                "p99",
            ),
            _widget(
                "Stream consumers: iterator age (ms)",
                [
                    ["AWS/Lambda", "IteratorAge", "FunctionName", names[m.function]]
                    for m in args.mappings
                ],
                region,
                "Maximum",
            ),
            _widget(
                "Dead-letter queues: messages waiting",
                [
                    ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue.name]
                    for queue in args.dead_letter_queues.values()
                ],
                region,
                "Maximum",
            ),
        ]
    }

"""What the HTTP and WebSocket APIs share: Lambda proxy integrations with their invoke permission,
and a throttled stage with access logs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class StageLimits:
    throttle_burst: int
    throttle_rate: float
    log_retention_days: int


def lambda_integrations(
    label: str,
    api: aws.apigatewayv2.Api,
    names: Iterable[str],
    functions: Mapping[str, aws.lambda_.Function],
    *,
    http: bool,
    parent: pulumi.Resource,
) -> dict[str, aws.apigatewayv2.Integration]:
    """One proxy integration per function, which API Gateway may invoke from this API only."""
    child = pulumi.ResourceOptions(parent=parent)
    integrations = {}
    for name in sorted(set(names)):
        target = functions[name]
        integrations[name] = aws.apigatewayv2.Integration(
            name,
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",  # how API Gateway calls Lambda (WebSocket APIs insist)
            # HTTP APIs take the function ARN and payload 2.0; WebSocket APIs the invoke ARN.
            integration_uri=target.arn if http else target.invoke_arn,
            payload_format_version="2.0" if http else None,
            opts=child,
        )
        aws.lambda_.Permission(
            f"{label}-{name}",
            action="lambda:InvokeFunction",
            function=target.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(api.execution_arn, "/*/*"),
            opts=child,
        )
    return integrations


def logged_stage(
    label: str,
    api: aws.apigatewayv2.Api,
    *,
    stage: str,
    log_group: str,
    log_format: str,
    limits: StageLimits,
    data_trace: bool | None = None,
    after: Sequence[pulumi.Resource] = (),
    parent: pulumi.Resource,
) -> aws.apigatewayv2.Stage:
    access_log = aws.cloudwatch.LogGroup(
        f"{label}-access",
        name=log_group,
        retention_in_days=limits.log_retention_days,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return aws.apigatewayv2.Stage(
        label,
        api_id=api.id,
        name=stage,
        auto_deploy=True,
        default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
            throttling_burst_limit=limits.throttle_burst,
            throttling_rate_limit=limits.throttle_rate,
            data_trace_enabled=data_trace,
        ),
        access_log_settings={"destination_arn": access_log.arn, "format": log_format},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
    )

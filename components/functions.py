"""Every topology function as a Lambda: shared code archive and layer, its own role, log group and
environment (only the names it needs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import policies
from components.settings import StageSettings
from components.topology import Function, Topology

RUNTIME = "python3.12"
BUS_NAME = "EVENT_BUS_NAME"
MANAGEMENT_ENDPOINT = "WS_MANAGEMENT_ENDPOINT"
COGNITO_ISSUER = "COGNITO_ISSUER"
COGNITO_CLIENT_ID = "COGNITO_CLIENT_ID"
S3_ENDPOINT = "AWS_ENDPOINT_URL_S3"


def environment(
    function: Function,
    topology: Topology,
    settings: StageSettings,
    values: Mapping[str, pulumi.Input[str]],
) -> dict[str, pulumi.Input[str]]:
    """The variables the handler reads (adapters.aws.table_name, os.environ) and nothing more."""
    env: dict[str, pulumi.Input[str]] = {
        "POWERTOOLS_SERVICE_NAME": function.name,
        "POWERTOOLS_LOG_LEVEL": settings.log_level,
        "POWERTOOLS_METRICS_NAMESPACE": settings.metrics_namespace,
    }
    names = [t.env_var for t in topology.tables if t.name in function.tables and t.env_var]
    names += [b.env_var for b in topology.buckets if b.name in function.buckets]
    consumed = {m.queue for m in topology.queue_mappings if m.function == function.name}
    names += [
        q.env_var
        for q in topology.queues
        if q.env_var and (q.name in function.sends_to or q.name in consumed)
    ]
    if function.publishes:
        names.append(BUS_NAME)
    if function.manages_connections:
        names.append(MANAGEMENT_ENDPOINT)
    if function.verifies_tokens:
        names += [COGNITO_ISSUER, COGNITO_CLIENT_ID]
    env.update({name: values[name] for name in names})
    if function.buckets:
        # Presigned URLs on the regional endpoint: S3's global one answers a new bucket outside
        # us-east-1 with redirects for up to a day, and browsers do not follow a preflight's.
        env[S3_ENDPOINT] = f"https://s3.{settings.region}.amazonaws.com"
    return env


@dataclass
class FunctionsArgs:
    topology: Topology
    settings: StageSettings
    grants: policies.Grants
    values: Mapping[str, pulumi.Input[str]]  # env var -> stage value (table names, bus, ...)
    code: pulumi.Archive
    layer: pulumi.Archive


class Functions(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: FunctionsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:Functions", name, None, opts)
        settings = args.settings
        self.layer = aws.lambda_.LayerVersion(
            "dependencies",
            layer_name=f"{settings.prefix}-dependencies",
            code=args.layer,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[settings.architecture],
            description="runtime dependencies from uv.lock (boto3 comes with the runtime)",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.functions: dict[str, aws.lambda_.Function] = {}
        self.roles: dict[str, aws.iam.Role] = {}
        self.policies: dict[str, aws.iam.RolePolicy] = {}
        self.log_groups: dict[str, aws.cloudwatch.LogGroup] = {}
        for function in args.topology.functions:
            self._function(function, args)
        self.register_outputs({n: f.arn for n, f in self.functions.items()})

    def _function(self, function: Function, args: FunctionsArgs) -> None:
        settings, child = args.settings, pulumi.ResourceOptions(parent=self)
        physical = f"{settings.prefix}-{function.name}"
        log_group = aws.cloudwatch.LogGroup(
            function.name,
            name=f"/aws/lambda/{physical}",
            retention_in_days=settings.log_retention_days,
            opts=child,
        )
        role = aws.iam.Role(
            function.name,
            name=f"{physical}-fn",
            assume_role_policy=policies.assume_role("lambda.amazonaws.com"),
            description=f"{function.name}: {function.purpose}"[:1000],
            opts=child,
        )
        found = policies.statements(function, args.topology, args.grants, log_group.arn)
        policy = aws.iam.RolePolicy(
            function.name,
            role=role.id,
            policy=policies.document(found),
            opts=child,
        )
        self.functions[function.name] = aws.lambda_.Function(
            function.name,
            name=physical,
            description=function.purpose[:256],
            runtime=RUNTIME,
            architectures=[settings.architecture],
            handler=function.handler,
            code=args.code,
            layers=[self.layer.arn],
            memory_size=function.memory_mb,
            timeout=function.timeout_s,
            role=role.arn,
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "Text", "log_group": log_group.name},
            environment={"variables": environment(function, args.topology, settings, args.values)},
            # The role's rights and the log group exist before the first invocation.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, log_group]),
        )
        self.roles[function.name] = role
        self.policies[function.name] = policy
        self.log_groups[function.name] = log_group

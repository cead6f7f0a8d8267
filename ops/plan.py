"""`chat plan --stack dev`: the stack's resources as a tree with their key settings, and the
findings that must never ship (a public bucket, an unencrypted table, wildcard IAM, a trigger
without a dead-letter queue). Runs the real program under mocks: no CLI, no cloud, no credentials.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from components.topology import EVENTS, FILES
from ops.program import ROOT, Program, Registered, run

# Actions AWS offers no resource-level permission for: "*" is the only resource they take.
STAR_RESOURCE_ACTIONS = frozenset(
    {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}
)
PUBLIC_ACCESS_BLOCK = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)

# What the tree shows of each type: label -> input key (engine names).
SETTINGS: dict[str, dict[str, str]] = {
    "aws:dynamodb/table:Table": {
        "name": "name",
        "stream": "streamViewType",
        "pitr": "pointInTimeRecovery",
        "sse": "serverSideEncryption",
        "ttl": "ttl",
        "deletion protection": "deletionProtectionEnabled",
    },
    "aws:lambda/function:Function": {
        "handler": "handler",
        "runtime": "runtime",
        "arch": "architectures",
        "memory": "memorySize",
        "timeout": "timeout",
        "tracing": "tracingConfig",
    },
    "aws:lambda/eventSourceMapping:EventSourceMapping": {
        "batch": "batchSize",
        "window": "maximumBatchingWindowInSeconds",
        "retries": "maximumRetryAttempts",
        "max age": "maximumRecordAgeInSeconds",
        "bisect": "bisectBatchOnFunctionError",
        "responses": "functionResponseTypes",
        "on failure": "destinationConfig",
    },
    "aws:apigatewayv2/route:Route": {"auth": "authorizationType"},
    "aws:apigatewayv2/authorizer:Authorizer": {
        "type": "authorizerType",
        "identity": "identitySources",
    },
    "aws:apigatewayv2/stage:Stage": {"name": "name", "limits": "defaultRouteSettings"},
    "aws:cloudwatch/eventTarget:EventTarget": {
        "retry": "retryPolicy",
        "dlq": "deadLetterConfig",
    },
    "aws:cloudwatch/eventArchive:EventArchive": {"retention days": "retentionDays"},
    "aws:cognito/userPool:UserPool": {"mfa": "mfaConfiguration", "deletion": "deletionProtection"},
    "aws:cloudwatch/logGroup:LogGroup": {"retention days": "retentionInDays"},
    "aws:sqs/queue:Queue": {"name": "name", "sse": "sqsManagedSseEnabled"},
    "aws:s3/bucket:Bucket": {"force destroy": "forceDestroy"},
    "aws:cloudwatch/metricAlarm:MetricAlarm": {"metric": "metricName", "above": "threshold"},
}


@dataclass(frozen=True)
class Finding:
    kind: str  # "public bucket", "unsigned files", "unencrypted table", "wildcard IAM", ...
    resource: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.resource}: {self.detail}"


def _statements(document: Any) -> list[dict[str, Any]]:
    parsed = json.loads(document) if isinstance(document, str) else document or {}
    statements = parsed.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def public_buckets(program: Program) -> Iterator[Finding]:
    blocks = {
        r.get("bucket"): r
        for r in program.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    }
    for bucket in program.of_type("aws:s3/bucket:Bucket"):
        block = blocks.get(bucket.get("bucket"))
        missing = [s for s in PUBLIC_ACCESS_BLOCK if block is None or block.get(s) is not True]
        if missing:
            yield Finding(
                "public bucket", bucket.name, "public access not blocked: " + ", ".join(missing)
            )
    for policy in program.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        for statement in _statements(policy.get("policy")):
            principal = statement.get("Principal")
            if statement.get("Effect") == "Allow" and principal in ("*", {"AWS": "*"}):
                yield Finding("public bucket", policy.name, "policy allows any principal")


def unencrypted_tables(program: Program) -> Iterator[Finding]:
    for table in program.of_type("aws:dynamodb/table:Table"):
        if (table.get("serverSideEncryption") or {}).get("enabled") is not True:
            yield Finding("unencrypted table", table.name, "server-side encryption not enabled")
    for queue in program.of_type("aws:sqs/queue:Queue"):
        if queue.get("sqsManagedSseEnabled") is not True and not queue.get("kmsMasterKeyId"):
            yield Finding("unencrypted table", queue.name, "queue without server-side encryption")


def wildcard_iam(program: Program) -> Iterator[Finding]:
    policies = [
        *program.of_type("aws:iam/rolePolicy:RolePolicy"),
        *program.of_type("aws:iam/policy:Policy"),
    ]
    for policy in policies:
        for statement in _statements(policy.get("policy")):
            if statement.get("Effect") != "Allow":
                continue
            actions = [str(a) for a in _listed(statement.get("Action", []))]
            starred = [a for a in actions if "*" in a]
            if starred or "NotAction" in statement:
                yield Finding("wildcard IAM", policy.name, f"actions {starred or 'NotAction'}")
            if "*" in _listed(statement.get("Resource")):
                loose = sorted(set(actions) - STAR_RESOURCE_ACTIONS)
                if loose:
                    yield Finding("wildcard IAM", policy.name, f"resource * for {loose}")
    for attachment in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        arn = str(attachment.get("policyArn"))
        if arn.endswith(("/AdministratorAccess", "FullAccess")):
            yield Finding("wildcard IAM", attachment.name, f"managed policy {arn}")


def missing_dlqs(program: Program) -> Iterator[Finding]:
    queues = {queue.get("arn"): queue for queue in program.of_type("aws:sqs/queue:Queue")}
    for mapping in program.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
        source = queues.get(mapping.get("eventSourceArn"))
        if source is not None:  # a queue's failures go where its redrive policy says
            if not source.get("redrivePolicy"):
                yield Finding("missing DLQ", source.name, "queue read without a redrive policy")
            continue
        failure = (mapping.get("destinationConfig") or {}).get("onFailure") or {}
        if not failure.get("destinationArn"):
            yield Finding(
                "missing DLQ", mapping.name, "stream mapping without on-failure destination"
            )
    for target in program.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        if not (target.get("deadLetterConfig") or {}).get("arn"):
            yield Finding("missing DLQ", target.name, "bus rule target without a dead-letter queue")


def unsigned_file_paths(program: Program) -> Iterator[Finding]:
    """Shared files reach a browser only by a presigned URL handed out after the membership
    check: a CDN in front of their bucket must require signed URLs too."""
    files = {
        bucket.get(name)
        for bucket in program.of_type("aws:s3/bucket:Bucket")
        if bucket.name == FILES.name
        for name in ("bucketRegionalDomainName", "bucketDomainName", "websiteEndpoint")
    } - {None}
    for distribution in program.of_type("aws:cloudfront/distribution:Distribution"):
        origins = {origin.get("domainName") for origin in distribution.get("origins") or []}
        behaviors = [
            distribution.get("defaultCacheBehavior") or {},
            *(distribution.get("orderedCacheBehaviors") or []),
        ]
        signed = all(b.get("trustedKeyGroups") or b.get("trustedSigners") for b in behaviors)
        if origins & files and not signed:
            yield Finding(
                "unsigned files", distribution.name, "serves the files bucket without signed URLs"
            )


# What would let a role change or remove what the log holds (matched with IAM's wildcards).
LOG_CHANGING_ACTIONS = (
    "dynamodb:UpdateItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:PartiQLInsert",
)


def _matches(patterns: list[Any], value: str) -> bool:
    """Whether an IAM action or resource pattern (`*` and `?` wildcards) covers `value`."""
    return any(fnmatch.fnmatchcase(value, str(pattern)) for pattern in patterns)


def mutable_log(program: Program) -> Iterator[Finding]:
    """The log is append-only by IAM: no role may update an event item, write to the events
    table in batches or by PartiQL, and deletes are allowed only in the partitions it names."""
    logs = [
        str(t.get("arn"))
        for t in program.of_type("aws:dynamodb/table:Table")
        if t.name == EVENTS.name
    ]
    allowed = {
        "ForAllValues:StringLike": {
            "dynamodb:LeadingKeys": [prefix + "*" for prefix in EVENTS.deletable_key_prefixes]
        }
    }
    for policy in program.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in _statements(policy.get("policy")):
            resources = _listed(statement.get("Resource", []))
            if statement.get("Effect") != "Allow" or not any(_matches(resources, a) for a in logs):
                continue
            if "NotAction" in statement:
                yield Finding("mutable log", policy.name, "NotAction on the events table")
                continue
            actions = _listed(statement.get("Action", []))
            changing = [a for a in LOG_CHANGING_ACTIONS if _matches(actions, a)]
            if changing == ["dynamodb:DeleteItem"] and statement.get("Condition") == allowed:
                continue
            if changing:
                yield Finding("mutable log", policy.name, f"{changing} on the events table")


CHECKS: tuple[Callable[[Program], Iterator[Finding]], ...] = (
    public_buckets,
    mutable_log,
    unsigned_file_paths,
    unencrypted_tables,
    wildcard_iam,
    missing_dlqs,
)


def findings(program: Program) -> list[Finding]:
    return [finding for check in CHECKS for finding in check(program)]


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def describe(resource: Registered) -> str:
    kind = resource.type.rpartition(":")[2]
    shown = [
        f"{label}={_short(resource.get(key))}"
        for label, key in SETTINGS.get(resource.type, {}).items()
        if resource.get(key) is not None
    ]
    if resource.type == "aws:apigatewayv2/route:Route":
        return f"{kind} {resource.get('routeKey')}  " + "  ".join(shown)
    if resource.type == "aws:iam/rolePolicy:RolePolicy":
        shown = [
            str(s.get("Sid", "?")) + ("(*)" if "*" in _listed(s.get("Resource")) else "")
            for s in _statements(resource.get("policy"))
        ]
    return f"{kind} {resource.name}" + ("  " + "  ".join(shown) if shown else "")


def tree(program: Program) -> list[str]:
    children: dict[str, list[Registered]] = {}
    for resource in sorted(program.resources, key=lambda r: (r.type, r.name)):
        children.setdefault(resource.parent, []).append(resource)
    known = {r.urn for r in program.resources}
    lines: list[str] = []

    def walk(resource: Registered, depth: int) -> None:
        lines.append("  " * depth + describe(resource))
        for child in children.get(resource.urn, []):
            walk(child, depth + 1)

    for resource in program.resources:  # components in the order the program composes them
        if resource.parent not in known:
            walk(resource, 0)
    return lines


def report(program: Program) -> tuple[list[str], list[Finding]]:
    lines = [f"stack {program.stack}: {len(program.resources)} resources", *tree(program), ""]
    lines += ["outputs:"] + [f"  {key} = {value}" for key, value in program.outputs.items()]
    found = findings(program)
    lines += [
        "",
        f"{len(found)} findings"
        + (
            ":"
            if found
            else " (public bucket, unencrypted table, wildcard IAM, missing DLQ checked)"
        ),
    ]
    lines += [f"  {finding}" for finding in found]
    return lines, found


def main(stack: str, overrides: dict[str, str] | None = None) -> int:
    if not (ROOT / f"Pulumi.{stack}.yaml").is_file():
        sys.exit(f"no Pulumi.{stack}.yaml: which stack is {stack!r}?")
    lines, found = report(run(stack, overrides))
    print("\n".join(lines))
    return 1 if found else 0

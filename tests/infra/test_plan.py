"""`chat plan` prints the stack and refuses to pass a public bucket, an unsigned path to the shared
files, an unencrypted table,
wildcard IAM or a trigger without a dead-letter queue."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import policies
from ops import plan
from ops.cli import main
from ops.program import Program, Registered

ENCRYPTED = {"serverSideEncryption": {"enabled": True}}


def _program(*resources: tuple[str, str, dict[str, Any]]) -> Program:
    return Program(
        "test",
        [
            Registered(f"urn:{i}", type_, name, "", True, inputs)
            for i, (type_, name, inputs) in enumerate(resources)
        ],
        {},
    )


def _kinds(program: Program) -> list[str]:
    return [finding.kind for finding in plan.findings(program)]


def test_the_dev_plan_prints_the_tree_with_settings_and_passes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "Functions functions" in out
    assert "  Function projector  handler=functions.projector.handler.lambda_handler" in out
    assert "Table events  name=chat-dev-events  stream=NEW_IMAGE" in out
    assert "responses=[ReportBatchItemFailures]" in out
    assert "RolePolicy projector  Logs  Tracing(*)" in out
    assert "apiUrl = https://" in out
    assert "0 findings" in out


def test_the_prod_plan_passes_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "prod"]) == 0
    assert "deletion protection=True" in capsys.readouterr().out


def test_a_wildcard_action_slipped_into_a_role_fails_the_plan(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(policies.TABLE_ACTIONS, "read", ("dynamodb:*",))
    assert main(["plan", "--stack", "dev"]) == 1
    out = capsys.readouterr().out
    assert "wildcard IAM: broadcaster: actions ['dynamodb:*']" in out


def test_an_unknown_stack_is_refused_by_name() -> None:
    with pytest.raises(SystemExit, match=r"no Pulumi\.staging\.yaml"):
        main(["plan", "--stack", "staging"])


def test_a_config_override_reaches_the_program(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "dev", "--set", "logRetentionDays=3"]) == 0
    assert "LogGroup projector  retention days=3" in capsys.readouterr().out


def test_a_bucket_without_its_public_access_block_is_a_public_bucket() -> None:
    program = _program(("aws:s3/bucket:Bucket", "files", {"bucket": "b"}))
    assert _kinds(program) == ["public bucket"]
    blocked = _program(
        ("aws:s3/bucket:Bucket", "files", {"bucket": "b"}),
        (
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "files",
            {"bucket": "b", **dict.fromkeys(plan.PUBLIC_ACCESS_BLOCK, True)},
        ),
    )
    assert _kinds(blocked) == []


def test_a_bucket_policy_open_to_anyone_is_a_public_bucket() -> None:
    policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]}
    program = _program(("aws:s3/bucketPolicy:BucketPolicy", "p", {"policy": json.dumps(policy)}))
    assert _kinds(program) == ["public bucket"]


def test_a_cdn_serving_the_files_bucket_without_signed_urls_is_a_finding() -> None:
    def serving(**behavior: Any) -> Program:
        return _program(
            (
                "aws:s3/bucket:Bucket",
                "files",
                {"bucket": "b", "bucketRegionalDomainName": "b.s3.amazonaws.com"},
            ),
            (
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "files",
                {"bucket": "b", **dict.fromkeys(plan.PUBLIC_ACCESS_BLOCK, True)},
            ),
            (
                "aws:cloudfront/distribution:Distribution",
                "files-cdn",
                {
                    "origins": [{"domainName": "b.s3.amazonaws.com"}],
                    "defaultCacheBehavior": behavior,
                },
            ),
        )

    assert _kinds(serving()) == ["unsigned files"]
    assert _kinds(serving(trustedKeyGroups=["signers"])) == []


def test_a_table_or_queue_without_encryption_is_a_finding() -> None:
    assert _kinds(_program(("aws:dynamodb/table:Table", "t", {}))) == ["unencrypted table"]
    assert _kinds(_program(("aws:sqs/queue:Queue", "q", {}))) == ["unencrypted table"]
    encrypted = _program(
        ("aws:dynamodb/table:Table", "t", {"serverSideEncryption": {"enabled": True}})
    )
    assert _kinds(encrypted) == []


def test_a_star_resource_is_allowed_only_for_actions_without_resource_level_permissions() -> None:
    def role(*statements: dict[str, Any]) -> Program:
        return _program(
            (
                "aws:iam/rolePolicy:RolePolicy",
                "r",
                {"policy": json.dumps({"Statement": list(statements)})},
            )
        )

    xray = {"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"}
    assert _kinds(role(xray)) == []
    reads = {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"}
    assert _kinds(role(reads)) == ["wildcard IAM"]
    admin = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    assert _kinds(role(admin)) == ["wildcard IAM", "wildcard IAM"]


def test_a_stream_mapping_or_rule_target_without_a_dlq_is_a_finding() -> None:
    mapping: tuple[str, str, dict[str, Any]] = (
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "m",
        {},
    )
    target: tuple[str, str, dict[str, Any]] = ("aws:cloudwatch/eventTarget:EventTarget", "t", {})
    assert _kinds(_program(mapping, target)) == ["missing DLQ", "missing DLQ"]


def test_an_update_slipped_into_the_log_s_access_fails_the_plan(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    appends = (*policies.TABLE_ACTIONS["append"], "dynamodb:UpdateItem")
    monkeypatch.setitem(policies.TABLE_ACTIONS, "append", appends)
    assert main(["plan", "--stack", "dev"]) == 1
    out = capsys.readouterr().out
    assert "mutable log: http-api: ['dynamodb:UpdateItem'] on the events table" in out


def test_a_delete_on_the_log_outside_the_membership_partitions_is_a_finding() -> None:
    log = ("aws:dynamodb/table:Table", "events", {"arn": "arn:events", **ENCRYPTED})

    def deleting(condition: dict[str, Any] | None) -> Program:
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Action": ["dynamodb:DeleteItem"],
            "Resource": "arn:events",
        }
        if condition is not None:
            statement["Condition"] = condition
        policy = {"policy": json.dumps({"Statement": [statement]})}
        return _program(log, ("aws:iam/rolePolicy:RolePolicy", "r", policy))

    memberships = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["member#*"]}}
    assert _kinds(deleting(memberships)) == []
    assert _kinds(deleting(None)) == ["mutable log"]
    anything = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["*"]}}
    assert _kinds(deleting(anything)) == ["mutable log"]


@pytest.mark.parametrize(
    ("actions", "resource"),
    [
        (["dynamodb:Update*"], "arn:events"),
        (["dynamodb:*Item"], "arn:events"),
        (["dynamodb:PartiQLUpdate"], "arn:events"),
        (["dynamodb:UpdateItem"], "arn:*"),
        (["dynamodb:UpdateItem"], ["arn:views", "arn:events"]),
    ],
)
def test_a_wildcard_or_partiql_way_to_change_the_log_is_a_finding_too(
    actions: list[str], resource: Any
) -> None:
    log = ("aws:dynamodb/table:Table", "events", {"arn": "arn:events", **ENCRYPTED})
    statement = {"Effect": "Allow", "Action": actions, "Resource": resource}
    policy = {"policy": json.dumps({"Statement": [statement]})}
    found = _kinds(_program(log, ("aws:iam/rolePolicy:RolePolicy", "r", policy)))
    assert "mutable log" in found

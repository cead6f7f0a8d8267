"""Every topology function becomes a Lambda with its handler, its own least-privilege role, its
log group and exactly the environment its handler reads."""

from __future__ import annotations

import importlib
import inspect
import re

from components.topology import FUNCTIONS, STREAM_MAPPINGS, TABLES, Function
from ops.program import Program
from tests.infra.conftest import component_of, function_named, policy_of

AWS_REQUIRES_STAR = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}


def test_every_topology_function_is_a_lambda_running_its_handler(stack: Program) -> None:
    lambdas = {f.name: f for f in stack.of_type("aws:lambda/function:Function")}
    assert set(lambdas) == {f.name for f in FUNCTIONS}
    for function in FUNCTIONS:
        deployed = lambdas[function.name]
        assert deployed.get("handler") == function.handler
        assert deployed.get("name") == f"chat-{stack.stack}-{function.name}"
        assert deployed.get("memorySize") == function.memory_mb
        assert deployed.get("timeout") == function.timeout_s
        assert component_of(stack, deployed) == "chat:index:Functions"


def test_functions_run_python_3_12_on_arm64_with_the_layer_and_active_tracing(
    stack: Program,
) -> None:
    layer = stack.of_type("aws:lambda/layerVersion:LayerVersion")
    assert len(layer) == 1
    assert layer[0].get("compatibleArchitectures") == ["arm64"]
    for deployed in stack.of_type("aws:lambda/function:Function"):
        assert deployed.get("runtime") == "python3.12"
        assert deployed.get("architectures") == ["arm64"]
        assert deployed.get("layers") == [layer[0].get("arn")]
        assert deployed.get("tracingConfig") == {"mode": "Active"}


def test_the_code_archive_holds_our_packages_and_the_topology_but_not_pulumi_components(
    dev: Program,
) -> None:
    code = function_named(dev, "projector").inputs["code"]
    names = set(code.assets)
    assert {"domain/events.py", "functions/projector/handler.py", "adapters/aws.py"} <= names
    assert "application/service.py" in names
    assert "components/topology.py" in names
    assert "components/functions.py" not in names
    assert not any("__pycache__" in name for name in names)


def test_each_function_logs_to_its_own_group_kept_as_long_as_the_stage_says(
    dev: Program, prod: Program
) -> None:
    for program, days in ((dev, 14), (prod, 90)):
        for function in FUNCTIONS:
            group = program.one("aws:cloudwatch/logGroup:LogGroup", function.name)
            assert group.get("retentionInDays") == days
            deployed = function_named(program, function.name)
            assert deployed.get("loggingConfig")["logGroup"] == group.get("name")


def test_each_function_has_a_role_of_its_own(stack: Program) -> None:
    roles = {fn.get("role") for fn in stack.of_type("aws:lambda/function:Function")}
    assert len(roles) == len(FUNCTIONS)


def test_no_statement_allows_a_wildcard_action(stack: Program) -> None:
    for function in FUNCTIONS:
        for statement in policy_of(stack, function.name):
            for action in statement["Action"]:
                assert "*" not in action, (function.name, statement)


def test_a_wildcard_resource_appears_only_for_actions_aws_offers_no_resource_for(
    stack: Program,
) -> None:
    for function in FUNCTIONS:
        for statement in policy_of(stack, function.name):
            if statement["Resource"] == "*":
                assert set(statement["Action"]) <= AWS_REQUIRES_STAR, (function.name, statement)


def _tables_granted(program: Program, function: Function) -> dict[str, set[str]]:
    granted: dict[str, set[str]] = {}
    for statement in policy_of(program, function.name):
        match = re.fullmatch(
            r"arn:aws:dynamodb:[^:]+:\d+:table/chat-\w+-([\w-]+)", statement["Resource"]
        )
        if match:
            granted.setdefault(match.group(1), set()).update(statement["Action"])
    return granted


def test_each_role_reaches_exactly_the_tables_the_topology_names_with_its_access(
    stack: Program,
) -> None:
    for function in FUNCTIONS:
        granted = _tables_granted(stack, function)
        assert set(granted) == set(function.tables), function.name
        for table, access in function.tables.items():
            writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
            assert (access == "read") == (not granted[table] & writes), (function.name, table)
            assert "dynamodb:Scan" not in granted[table]


def test_no_role_may_update_the_log_and_deletes_only_memberships(stack: Program) -> None:
    log = f"arn:aws:dynamodb:eu-west-1:123456789012:table/chat-{stack.stack}-events"
    appenders = [f for f in FUNCTIONS if "events" in f.tables]
    assert {f.name for f in appenders} == {"http-api", "ws-messages"}
    for function in FUNCTIONS:
        on_the_log = [s for s in policy_of(stack, function.name) if s["Resource"] == log]
        assert bool(on_the_log) == (function in appenders), function.name
        actions = {action for s in on_the_log for action in s["Action"]}
        assert not actions & {"dynamodb:UpdateItem", "dynamodb:BatchWriteItem"}, function.name
        for statement in on_the_log:
            if "dynamodb:DeleteItem" in statement["Action"]:
                assert statement["Action"] == ["dynamodb:DeleteItem"]
                assert statement["Condition"] == {
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["member#*"]}
                }


def test_only_functions_that_publish_may_put_events_and_only_on_the_stage_bus(
    stack: Program,
) -> None:
    for function in FUNCTIONS:
        puts = [s for s in policy_of(stack, function.name) if "events:PutEvents" in s["Action"]]
        if function.publishes:
            assert [s["Resource"] for s in puts] == [
                f"arn:aws:events:eu-west-1:123456789012:event-bus/chat-{stack.stack}-bus"
            ]
        else:
            assert puts == []


def test_only_the_broadcaster_manages_connections_and_only_on_its_api_stage(
    stack: Program,
) -> None:
    api = next(
        a for a in stack.of_type("aws:apigatewayv2/api:Api") if a.get("protocolType") == "WEBSOCKET"
    )
    for function in FUNCTIONS:
        manage = [
            s
            for s in policy_of(stack, function.name)
            if "execute-api:ManageConnections" in s["Action"]
        ]
        if function.manages_connections:
            assert [s["Resource"] for s in manage] == [
                f"{api.get('executionArn')}/live/POST/@connections/*"
            ]
        else:
            assert manage == []


def test_the_http_api_may_presign_only_under_the_files_prefix(stack: Program) -> None:
    s3 = [s for s in policy_of(stack, "http-api") if s["Action"][0].startswith("s3:")]
    assert len(s3) == 1
    assert set(s3[0]["Action"]) == {"s3:GetObject", "s3:PutObject"}
    assert s3[0]["Resource"].endswith("/rooms/*")
    for function in FUNCTIONS:
        if not function.buckets:
            assert not any(
                a.startswith("s3:") for s in policy_of(stack, function.name) for a in s["Action"]
            )


def test_functions_that_presign_use_the_regional_s3_endpoint(stack: Program) -> None:
    # S3's global endpoint redirects for a new bucket outside us-east-1, and a browser's
    # preflight does not follow redirects.
    for function in FUNCTIONS:
        env = function_named(stack, function.name).get("environment")["variables"]
        if function.buckets:
            assert env["AWS_ENDPOINT_URL_S3"] == "https://s3.eu-west-1.amazonaws.com"
        else:
            assert "AWS_ENDPOINT_URL_S3" not in env


def test_the_stream_consumer_may_read_the_stream_and_feed_its_failure_queue(stack: Program) -> None:
    for mapping in STREAM_MAPPINGS:
        statements = policy_of(stack, mapping.function)
        actions = {a for s in statements for a in s["Action"]}
        assert {"dynamodb:GetRecords", "dynamodb:GetShardIterator"} <= actions
        sends = [s["Resource"] for s in statements if s["Action"] == ["sqs:SendMessage"]]
        assert sorted(sends) == [
            f"arn:aws:sqs:eu-west-1:123456789012:chat-{stack.stack}-{mapping.on_failure_queue}",
            f"arn:aws:sqs:eu-west-1:123456789012:chat-{stack.stack}-room-events.fifo",
        ]


def test_only_the_projector_may_send_room_events_and_only_the_broadcaster_consume_them(
    stack: Program,
) -> None:
    queue = f"arn:aws:sqs:eu-west-1:123456789012:chat-{stack.stack}-room-events.fifo"
    for function in FUNCTIONS:
        granted = {
            action
            for statement in policy_of(stack, function.name)
            if statement["Resource"] == queue
            for action in statement["Action"]
        }
        expected = {
            "projector": {"sqs:SendMessage"},
            "broadcaster": {
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            },
        }.get(function.name, set())
        assert granted == expected, function.name


def _names_read_by(handler: str) -> set[str]:
    source = inspect.getsource(importlib.import_module(handler.rpartition(".")[0]))
    found = re.findall(r'table_name\("(\w+)"\)', source)
    found += re.findall(r'os\.environ\["(\w+)"\]', source)
    return set(found)


def test_each_function_gets_every_variable_its_handler_requires_and_no_other_stage_names(
    stack: Program,
) -> None:
    table_vars = {t.env_var for t in TABLES}
    for function in FUNCTIONS:
        env = function_named(stack, function.name).get("environment")["variables"]
        required = _names_read_by(function.handler)
        assert required <= set(env), (function.name, required - set(env))
        granted_tables = {t.env_var for t in TABLES if t.name in function.tables}
        assert set(env) & table_vars == granted_tables, function.name
        assert env["POWERTOOLS_SERVICE_NAME"] == function.name
        assert {"POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE"} <= set(env)


def test_the_broadcaster_posts_to_its_own_stage_management_endpoint(stack: Program) -> None:
    env = function_named(stack, "broadcaster").get("environment")["variables"]
    assert re.fullmatch(
        r"https://[\w-]+\.execute-api\.eu-west-1\.amazonaws\.com/live",
        env["WS_MANAGEMENT_ENDPOINT"],
    )


def test_the_authorizer_checks_tokens_against_the_stage_pool_and_web_client(stack: Program) -> None:
    env = function_named(stack, "ws-authorizer").get("environment")["variables"]
    pool_id, client_id = stack.outputs["userPoolId"], stack.outputs["userPoolClientId"]
    assert env["COGNITO_ISSUER"] == f"https://cognito-idp.eu-west-1.amazonaws.com/{pool_id}"
    assert env["COGNITO_CLIENT_ID"] == client_id

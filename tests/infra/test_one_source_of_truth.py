"""Adding a function, its route and its bus rule to the topology is all it takes for the stack to
grow a Lambda with its own role, log group, alarms and triggers."""

from __future__ import annotations

import json

import pytest

from components import topology
from ops.program import Program, run
from tests.infra.conftest import NO_UI_BUILD, policy_of

DIGEST = topology.Function(
    name="digest",
    handler="functions.broadcaster.handler.lambda_handler",
    purpose="a test's new function: reads the views, answers GET /digest and hears messages",
    tables={"views": "read"},
    verifies_tokens=True,  # it serves a route that requires a token
)
DIGEST_DLQ = topology.Queue("digest-dlq", "a test's new dead-letter queue")


@pytest.fixture(scope="module")
def grown() -> Program:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(topology, "FUNCTIONS", (*topology.FUNCTIONS, DIGEST))
        patch.setattr(topology, "QUEUES", (*topology.QUEUES, DIGEST_DLQ))
        patch.setattr(
            topology,
            "HTTP_ROUTES",
            (*topology.HTTP_ROUTES, topology.HttpRoute("GET", "/digest", DIGEST.name)),
        )
        patch.setattr(
            topology,
            "BUS_RULES",
            (
                *topology.BUS_RULES,
                topology.BusRule(
                    "digest", ("message.created",), DIGEST.name, dead_letter_queue=DIGEST_DLQ.name
                ),
            ),
        )
        return run("dev", NO_UI_BUILD)


def test_the_new_function_is_deployed_with_its_handler(grown: Program, dev: Program) -> None:
    assert len(grown.of_type("aws:lambda/function:Function")) == (
        len(dev.of_type("aws:lambda/function:Function")) + 1
    )
    function = grown.one("aws:lambda/function:Function", "digest")
    assert function.get("handler") == DIGEST.handler
    assert function.get("environment")["variables"]["VIEWS_TABLE"] == "chat-dev-views"


def test_the_new_function_has_a_role_reading_only_the_views(grown: Program) -> None:
    role = grown.one("aws:iam/role:Role", "digest")
    assert grown.one("aws:lambda/function:Function", "digest").get("role") == role.get("arn")
    tables = {
        s["Resource"]
        for s in policy_of(grown, "digest")
        if any(a.startswith("dynamodb:") for a in s["Action"])
    }
    assert tables == {"arn:aws:dynamodb:eu-west-1:123456789012:table/chat-dev-views"}
    actions = {a for s in policy_of(grown, "digest") for a in s["Action"]}
    assert "dynamodb:PutItem" not in actions


def test_the_new_route_reaches_the_new_function_which_verifies_the_token(grown: Program) -> None:
    route = next(
        r
        for r in grown.of_type("aws:apigatewayv2/route:Route")
        if r.get("routeKey") == "GET /digest"
    )
    assert route.get("target") == "integrations/digest-id"
    assert route.get("authorizationType") == "NONE"  # no gateway authorizer: the function checks
    variables = grown.one("aws:lambda/function:Function", "digest").get("environment")["variables"]
    assert variables["COGNITO_CLIENT_ID"] == grown.outputs["userPoolClientId"]
    integration = grown.one("aws:apigatewayv2/integration:Integration", "digest")
    assert integration.get("integrationUri").endswith(":function:chat-dev-digest")


def test_the_new_rule_invokes_the_new_function_with_its_own_dead_letter_queue(
    grown: Program,
) -> None:
    rule = grown.one("aws:cloudwatch/eventRule:EventRule", "digest")
    assert json.loads(rule.get("eventPattern"))["detail-type"] == ["message.created"]
    target = grown.one("aws:cloudwatch/eventTarget:EventTarget", "digest")
    assert target.get("arn").endswith(":function:chat-dev-digest")
    assert target.get("deadLetterConfig")["arn"].endswith(":chat-dev-digest-dlq")
    assert grown.one("aws:lambda/permission:Permission", "bus-digest").get("principal") == (
        "events.amazonaws.com"
    )
    alarms = {a.name for a in grown.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert {"digest-errors", "digest-throttles", "digest-dlq-not-empty"} <= alarms


def test_the_topology_is_back_to_normal_after_the_test(grown: Program) -> None:
    assert DIGEST not in topology.FUNCTIONS

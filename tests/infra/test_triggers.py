"""Every trigger the topology describes exists on AWS and reaches the right function: HTTP routes,
WebSocket routes, the stream mapping, the room events' FIFO queue and the bus rules."""

from __future__ import annotations

import json

from components.topology import (
    BROADCASTER,
    BUS_RULES,
    HTTP_DEFAULT_FUNCTION,
    HTTP_ROUTES,
    QUEUE_MAPPINGS,
    ROOM_EVENTS,
    STREAM_MAPPINGS,
    WS_AUTHORIZER_IDENTITY,
    WS_ROUTES,
)
from ops.program import Program, Registered


def _api(program: Program, protocol: str) -> Registered:
    apis = [
        a for a in program.of_type("aws:apigatewayv2/api:Api") if a.get("protocolType") == protocol
    ]
    assert len(apis) == 1
    return apis[0]


def _routes(program: Program, protocol: str) -> dict[str, Registered]:
    """The routes of the API of this protocol, by route key."""
    api_id = f"{_api(program, protocol).name}-id"
    return {
        r.get("routeKey"): r
        for r in program.of_type("aws:apigatewayv2/route:Route")
        if r.get("apiId") == api_id
    }


def test_api_gateway_calls_every_function_by_post_through_the_lambda_proxy(stack: Program) -> None:
    for integration in stack.of_type("aws:apigatewayv2/integration:Integration"):
        assert integration.get("integrationType") == "AWS_PROXY"
        assert integration.get("integrationMethod") == "POST"


def _integration_function(program: Program, route: Registered) -> str:
    """The Lambda a route's target integration invokes, by its topology name."""
    target = route.get("target").removeprefix("integrations/")
    integration = next(
        i
        for i in program.of_type("aws:apigatewayv2/integration:Integration")
        if f"{i.name}-id" == target
    )
    uri = integration.get("integrationUri")
    return str(uri.split(":function:chat-" + program.stack + "-")[1].split("/")[0])


def test_every_http_route_exists_and_invokes_its_function(stack: Program) -> None:
    routes = _routes(stack, "HTTP")
    for route in HTTP_ROUTES:
        deployed = routes[f"{route.method} {route.path}"]
        assert _integration_function(stack, deployed) == route.function


def test_the_http_api_has_no_gateway_authorizer_and_a_default_route_to_the_token_checking_function(
    stack: Program,
) -> None:
    assert stack.of_type("aws:apigatewayv2/authorizer:Authorizer") == [
        stack.one("aws:apigatewayv2/authorizer:Authorizer", "connect")  # the WebSocket API's
    ]
    routes = _routes(stack, "HTTP")
    for route in HTTP_ROUTES:
        assert routes[f"{route.method} {route.path}"].get("authorizationType") == "NONE"
    assert _integration_function(stack, routes["$default"]) == HTTP_DEFAULT_FUNCTION
    checking = stack.one("aws:lambda/function:Function", HTTP_DEFAULT_FUNCTION)
    variables = checking.get("environment")["variables"]
    assert variables["COGNITO_ISSUER"] == (
        f"https://cognito-idp.eu-west-1.amazonaws.com/{stack.outputs['userPoolId']}"
    )
    assert variables["COGNITO_CLIENT_ID"] == stack.outputs["userPoolClientId"]


def test_the_http_api_allows_the_web_client_origin_and_throttles_its_stage(stack: Program) -> None:
    cors = _api(stack, "HTTP").get("corsConfiguration")
    assert stack.outputs["webUrl"] in cors["allowOrigins"]
    assert "*" not in cors["allowOrigins"]
    assert "authorization" in cors["allowHeaders"]
    assert cors["exposeHeaders"] == ["retry-after"]  # a browser reads when to retry
    stage = stack.one("aws:apigatewayv2/stage:Stage", "http")
    settings = stage.get("defaultRouteSettings")
    assert settings["throttlingBurstLimit"] > 0 and settings["throttlingRateLimit"] > 0
    assert stage.get("accessLogSettings")["destinationArn"].endswith(
        "/aws/apigateway/chat-" + stack.stack + "-http"
    )


def test_access_logs_never_carry_a_token_a_header_or_a_query_string(stack: Program) -> None:
    for stage in stack.of_type("aws:apigatewayv2/stage:Stage"):
        log_format = stage.get("accessLogSettings")["format"]
        json.loads(log_format)
        for leak in ("Authorization", "header", "querystring", "token", "$request", "body"):
            assert leak not in log_format, (stage.name, leak)


def test_every_websocket_route_exists_and_invokes_its_function(stack: Program) -> None:
    api = _api(stack, "WEBSOCKET")
    assert api.get("routeSelectionExpression") == "$request.body.action"
    routes = _routes(stack, "WEBSOCKET")
    for route in WS_ROUTES:
        assert _integration_function(stack, routes[route.route_key]) == route.function


def test_only_connect_is_authorized_and_the_authorizer_finds_the_token_itself(
    stack: Program,
) -> None:
    authorizer = stack.one("aws:apigatewayv2/authorizer:Authorizer", "connect")
    assert authorizer.get("authorizerType") == "REQUEST"
    # No identity source: the token may come in a subprotocol or in ?token=, and API Gateway
    # refuses a $connect that lacks any identity source without asking the authorizer.
    assert WS_AUTHORIZER_IDENTITY == () and not authorizer.get("identitySources")
    assert ":function:chat-" + stack.stack + "-ws-authorizer/" in authorizer.get("authorizerUri")
    routes = _routes(stack, "WEBSOCKET")
    for route in WS_ROUTES:
        deployed = routes[route.route_key]
        if route.route_key == "$connect":
            assert deployed.get("authorizationType") == "CUSTOM"
            assert deployed.get("authorizerId") == "connect-id"
        else:
            assert deployed.get("authorizationType") == "NONE"


def test_two_way_routes_answer_the_sender(stack: Program) -> None:
    responses = {r.name for r in stack.of_type("aws:apigatewayv2/routeResponse:RouteResponse")}
    routes = _routes(stack, "WEBSOCKET")
    for route in WS_ROUTES:
        assert (route.route_key in responses) == route.replies
        expected = "$default" if route.replies else None
        assert routes[route.route_key].get("routeResponseSelectionExpression") == expected


def test_the_websocket_stage_is_throttled_logged_and_never_traces_frames(stack: Program) -> None:
    stage = stack.one("aws:apigatewayv2/stage:Stage", "websocket")
    assert stage.get("name") == "live"
    settings = stage.get("defaultRouteSettings")
    assert settings["dataTraceEnabled"] is False
    assert settings["throttlingBurstLimit"] > 0
    assert stack.outputs["wsUrl"].startswith("wss://") and stack.outputs["wsUrl"].endswith("/live")


def test_api_gateway_may_invoke_each_routed_function_only_from_its_own_api(stack: Program) -> None:
    permissions = stack.of_type("aws:lambda/permission:Permission")
    from_apis = [p for p in permissions if p.get("principal") == "apigateway.amazonaws.com"]
    routed = {r.function for r in HTTP_ROUTES} | {r.function for r in WS_ROUTES}
    assert {p.get("function").removeprefix(f"chat-{stack.stack}-") for p in from_apis} >= routed
    for permission in from_apis:
        assert permission.get("sourceArn").startswith("arn:aws:execute-api:eu-west-1:123456789012:")


def test_the_stream_mapping_has_the_topology_settings_and_lambda_failure_handling(
    stack: Program,
) -> None:
    deployed = stack.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert len(deployed) == len(STREAM_MAPPINGS) + len(QUEUE_MAPPINGS)
    for mapping in STREAM_MAPPINGS:
        found = stack.one(
            "aws:lambda/eventSourceMapping:EventSourceMapping",
            f"{mapping.table}-{mapping.function}",
        )
        assert found.get("eventSourceArn").endswith("/stream/2026-01-01T00:00:00.000")
        assert f"table/chat-{stack.stack}-{mapping.table}/" in found.get("eventSourceArn")
        assert found.get("functionName").endswith(
            f":function:chat-{stack.stack}-{mapping.function}"
        )
        assert found.get("batchSize") == mapping.batch_size
        assert found.get("maximumBatchingWindowInSeconds") == mapping.batching_window_s
        assert found.get("functionResponseTypes") == ["ReportBatchItemFailures"]
        assert found.get("bisectBatchOnFunctionError") is True
        assert found.get("maximumRetryAttempts") == mapping.max_retries
        assert found.get("maximumRecordAgeInSeconds") == mapping.max_record_age_s
        assert found.get("destinationConfig")["onFailure"]["destinationArn"].endswith(
            f":chat-{stack.stack}-{mapping.on_failure_queue}"
        )
        assert found.get("filterCriteria") == {"filters": [{"pattern": mapping.filter_pattern}]}
        assert found.get("startingPosition") == "TRIM_HORIZON"


def test_room_events_wait_in_a_fifo_queue_grouped_and_deduplicated_per_room(
    stack: Program,
) -> None:
    queue = stack.one("aws:sqs/queue:Queue", ROOM_EVENTS.name)
    assert queue.get("name") == f"chat-{stack.stack}-room-events.fifo"
    assert queue.get("fifoQueue") is True
    assert queue.get("contentBasedDeduplication") is False  # the projector names each event
    assert queue.get("deduplicationScope") == "messageGroup"
    assert queue.get("fifoThroughputLimit") == "perMessageGroupId"
    # Lambda refuses a queue whose visibility timeout is shorter than the function's timeout.
    assert queue.get("visibilityTimeoutSeconds") >= BROADCASTER.timeout_s
    redrive = json.loads(queue.get("redrivePolicy"))
    assert redrive["deadLetterTargetArn"].endswith(f"chat-{stack.stack}-room-events-dlq.fifo")
    assert redrive["maxReceiveCount"] == ROOM_EVENTS.max_receive_count
    dlq = stack.one("aws:sqs/queue:Queue", ROOM_EVENTS.dead_letter_queue)
    assert dlq.get("fifoQueue") is True  # a FIFO queue's dead-letter queue must be FIFO too


def test_the_broadcaster_reads_the_room_events_queue_reporting_each_message_s_failure(
    stack: Program,
) -> None:
    for mapping in QUEUE_MAPPINGS:
        found = stack.one(
            "aws:lambda/eventSourceMapping:EventSourceMapping",
            f"{mapping.queue}-{mapping.function}",
        )
        assert found.get("eventSourceArn").endswith(f"chat-{stack.stack}-{mapping.queue}.fifo")
        assert found.get("functionName").endswith(
            f":function:chat-{stack.stack}-{mapping.function}"
        )
        assert found.get("functionResponseTypes") == ["ReportBatchItemFailures"]
        assert found.get("batchSize") == mapping.batch_size
        assert found.get("scalingConfig") == {"maximumConcurrency": mapping.max_concurrency}


def test_each_bus_rule_matches_its_types_and_invokes_its_function_with_retries_and_a_dlq(
    stack: Program,
) -> None:
    for rule in BUS_RULES:
        deployed = stack.one("aws:cloudwatch/eventRule:EventRule", rule.name)
        assert deployed.get("eventBusName") == f"chat-{stack.stack}-bus"
        pattern = json.loads(deployed.get("eventPattern"))
        assert pattern == {"source": ["chat"], "detail-type": list(rule.detail_types)}
        target = stack.one("aws:cloudwatch/eventTarget:EventTarget", rule.name)
        assert target.get("arn").endswith(f":function:chat-{stack.stack}-{rule.function}")
        assert target.get("retryPolicy") == {
            "maximumRetryAttempts": rule.max_retries,
            "maximumEventAgeInSeconds": rule.max_event_age_s,
        }
        dlq = f"arn:aws:sqs:eu-west-1:123456789012:chat-{stack.stack}-{rule.dead_letter_queue}"
        assert target.get("deadLetterConfig") == {"arn": dlq}
        # A function that fails after EventBridge handed the event over ends in the same DLQ.
        invoke = stack.one(
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", rule.name
        )
        assert invoke.get("destinationConfig") == {"onFailure": {"destination": dlq}}
        assert invoke.get("maximumEventAgeInSeconds") == rule.max_event_age_s


def test_a_dead_letter_queue_takes_messages_only_from_its_rules(stack: Program) -> None:
    for rule in BUS_RULES:
        policy = json.loads(
            stack.one("aws:sqs/queuePolicy:QueuePolicy", rule.dead_letter_queue).get("policy")
        )
        (statement,) = policy["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == [
            stack.one("aws:cloudwatch/eventRule:EventRule", rule.name).get("arn")
        ]


def test_the_bus_keeps_an_archive_for_as_long_as_the_stage_says(
    dev: Program, prod: Program
) -> None:
    for program, days in ((dev, 7), (prod, 365)):
        (archive,) = program.of_type("aws:cloudwatch/eventArchive:EventArchive")
        assert archive.get("retentionDays") == days
        assert archive.get("eventSourceArn").endswith(f"event-bus/chat-{program.stack}-bus")

"""The WebSocket API in two parts, because the broadcaster needs the API's address before the
routes can point at the functions: `WebSocketApi` is the API (and what it needs from the account),
`WebSocketRoutes` the authorizer, routes and the stage, built once the functions exist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import policies
from components.access_logs import WEBSOCKET_FORMAT
from components.api_stage import StageLimits, lambda_integrations, logged_stage
from components.topology import WsRoute

STAGE = "live"


@dataclass
class WebSocketApiArgs:
    prefix: str
    route_selection: str
    region: str
    # API Gateway writes WebSocket access logs through one role per account and region: set it
    # from exactly one stack there (docs/operations.md).
    manage_account_logging: bool


class WebSocketApi(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: WebSocketApiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:WebSocketApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.api = aws.apigatewayv2.Api(
            "websocket",
            name=f"{args.prefix}-ws",
            protocol_type="WEBSOCKET",
            route_selection_expression=args.route_selection,
            opts=child,
        )
        self.url = pulumi.Output.concat(self.api.api_endpoint, "/", STAGE)
        # The broadcaster's endpoint: the same API over HTTPS, with the stage as path.
        self.management_endpoint = pulumi.Output.concat(
            "https://", self.api.id, ".execute-api.", args.region, ".amazonaws.com/", STAGE
        )
        # POST @connections on this API's stage, nothing else (not DELETE, not other APIs).
        self.connections_arn = pulumi.Output.concat(
            self.api.execution_arn, "/", STAGE, "/POST/@connections/*"
        )
        self.account: aws.apigateway.Account | None = None
        if args.manage_account_logging:
            self.account = self._account_logging(args, child)
        self.register_outputs({"url": self.url, "management_endpoint": self.management_endpoint})

    def _account_logging(
        self, args: WebSocketApiArgs, child: pulumi.ResourceOptions
    ) -> aws.apigateway.Account:
        account_id = aws.get_caller_identity_output().account_id
        role = aws.iam.Role(
            "apigateway-logs",
            name=f"{args.prefix}-apigateway-logs",
            assume_role_policy=policies.assume_role("apigateway.amazonaws.com"),
            opts=child,
        )
        groups = pulumi.Output.concat("arn:aws:logs:", args.region, ":", account_id, ":log-group:*")
        aws.iam.RolePolicy(
            "apigateway-logs",
            role=role.id,
            policy=policies.document(
                [
                    {
                        "Sid": "AccessAndExecutionLogs",
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogGroup",
                            "logs:CreateLogStream",
                            "logs:DescribeLogGroups",
                            "logs:DescribeLogStreams",
                            "logs:PutLogEvents",
                        ],
                        "Resource": groups,
                    }
                ]
            ),
            opts=child,
        )
        return aws.apigateway.Account(
            "apigateway-account", cloudwatch_role_arn=role.arn, opts=child
        )


@dataclass
class WebSocketRoutesArgs:
    prefix: str
    api: WebSocketApi
    routes: tuple[WsRoute, ...]
    functions: Mapping[str, aws.lambda_.Function]
    authorizer: str  # the function that authorizes $connect
    identity_sources: tuple[str, ...]  # none: the authorizer is asked on every $connect
    limits: StageLimits


class WebSocketRoutes(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: WebSocketRoutesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:WebSocketRoutes", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        api = args.api.api
        authorizer_function = args.functions[args.authorizer]
        self.authorizer = aws.apigatewayv2.Authorizer(
            "connect",
            api_id=api.id,
            name="token",
            authorizer_type="REQUEST",
            authorizer_uri=authorizer_function.invoke_arn,
            identity_sources=list(args.identity_sources) or None,
            # A new authorizer rather than an update when its sources change: whether API
            # Gateway clears an identity source on an update to none is not documented, and one
            # left behind would refuse every client that sends its token as a subprotocol.
            opts=child.merge(pulumi.ResourceOptions(replace_on_changes=["identitySources"])),
        )
        aws.lambda_.Permission(
            f"ws-{args.authorizer}",
            action="lambda:InvokeFunction",
            function=authorizer_function.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(api.execution_arn, "/authorizers/", self.authorizer.id),
            opts=child,
        )
        integrations = lambda_integrations(
            "ws",
            api,
            (route.function for route in args.routes),
            args.functions,
            http=False,
            parent=self,
        )
        self.routes: list[aws.apigatewayv2.Route] = []
        for route in args.routes:
            connect = route.route_key == "$connect"
            created = aws.apigatewayv2.Route(
                route.route_key,
                api_id=api.id,
                route_key=route.route_key,
                target=pulumi.Output.concat("integrations/", integrations[route.function].id),
                authorization_type="CUSTOM" if connect else "NONE",
                authorizer_id=self.authorizer.id if connect else None,
                # Two-way: the function's answer (ack, pong, error frame) goes back to the sender.
                route_response_selection_expression="$default" if route.replies else None,
                opts=child,
            )
            self.routes.append(created)
            if route.replies:
                aws.apigatewayv2.RouteResponse(
                    route.route_key,
                    api_id=api.id,
                    route_id=created.id,
                    route_response_key="$default",
                    opts=child,
                )
        after: list[pulumi.Resource] = [*self.routes]
        if args.api.account is not None:
            after.append(args.api.account)
        self.stage = logged_stage(
            "websocket",
            api,
            stage=STAGE,
            log_group=f"/aws/apigateway/{args.prefix}-ws",
            log_format=WEBSOCKET_FORMAT,
            limits=args.limits,
            # Execution logs and data traces would copy frames and the ?token= into logs.
            data_trace=False,
            after=after,
            parent=self,
        )
        self.register_outputs({"stage": self.stage.name})

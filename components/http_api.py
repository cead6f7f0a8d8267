"""The HTTP API: the topology's routes behind Cognito's JWT authorizer, CORS for the web client,
stage throttling and access logs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.access_logs import HTTP_FORMAT
from components.api_stage import StageLimits, lambda_integrations, logged_stage
from components.topology import HttpRoute


@dataclass
class HttpApiArgs:
    prefix: str
    routes: tuple[HttpRoute, ...]
    functions: Mapping[str, aws.lambda_.Function]
    issuer: pulumi.Input[str]
    audience: pulumi.Input[str]  # the web app client id
    cors_origins: pulumi.Input[list[str]]
    limits: StageLimits


class HttpApi(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:HttpApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.api = aws.apigatewayv2.Api(
            "http",
            name=f"{args.prefix}-http",
            protocol_type="HTTP",
            cors_configuration={
                "allow_origins": args.cors_origins,
                "allow_methods": sorted({route.method for route in args.routes}),
                "allow_headers": ["authorization", "content-type"],
                "expose_headers": ["retry-after"],  # a rate-limited write says when to retry
                "max_age": 3600,
            },
            opts=child,
        )
        self.authorizer = aws.apigatewayv2.Authorizer(
            "cognito",
            api_id=self.api.id,
            name="cognito",
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            jwt_configuration={"issuer": args.issuer, "audiences": [args.audience]},
            opts=child,
        )
        integrations = lambda_integrations(
            "http",
            self.api,
            (route.function for route in args.routes),
            args.functions,
            http=True,
            parent=self,
        )
        self.routes = [
            aws.apigatewayv2.Route(
                f"{route.method} {route.path}",
                api_id=self.api.id,
                route_key=f"{route.method} {route.path}",
                target=pulumi.Output.concat("integrations/", integrations[route.function].id),
                authorization_type="NONE" if route.public else "JWT",
                authorizer_id=None if route.public else self.authorizer.id,
                opts=child,
            )
            for route in args.routes
        ]
        self.stage = logged_stage(
            "http",
            self.api,
            stage="$default",
            log_group=f"/aws/apigateway/{args.prefix}-http",
            log_format=HTTP_FORMAT,
            limits=args.limits,
            after=self.routes,
            parent=self,
        )
        self.url = self.api.api_endpoint
        self.register_outputs({"url": self.url})

"""The HTTP API: the topology's routes and its `$default` route, CORS for the web client, stage
throttling and access logs.

No gateway authorizer: the HTTP API function verifies the caller's Cognito JWT itself (with the
WebSocket authorizer's code), because what API Gateway answers by itself (a JWT authorizer's 401,
a 404 for a path no route takes) cannot be given the API's `{"error": {...}}` shape on an HTTP
API. The cost is an invocation for a request without a valid token, bounded by the stage
throttle. CORS preflights are answered by the gateway from the CORS configuration; one that
reaches `$default` anyway gets an empty 204 from the function, to which the gateway adds the
configured CORS headers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    default_function: str  # takes every request no route takes
    # Routes that require a token to a function that verifies none: refused, as nothing would.
    unguarded: Sequence[HttpRoute]
    cors_origins: pulumi.Input[list[str]]
    limits: StageLimits


class HttpApi(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:HttpApi", name, None, opts)
        if args.unguarded:
            names = ", ".join(f"{r.method} {r.path} ({r.function})" for r in args.unguarded)
            raise ValueError(f"routes that require a token reach no token check: {names}")
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
        integrations = lambda_integrations(
            "http",
            self.api,
            (*(route.function for route in args.routes), args.default_function),
            args.functions,
            http=True,
            parent=self,
        )
        keys = {f"{route.method} {route.path}": route.function for route in args.routes}
        keys["$default"] = args.default_function
        self.routes = [
            aws.apigatewayv2.Route(
                key,
                api_id=self.api.id,
                route_key=key,
                target=pulumi.Output.concat("integrations/", integrations[function].id),
                authorization_type="NONE",  # the function verifies the token (see above)
                opts=child,
            )
            for key, function in keys.items()
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

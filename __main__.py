"""The chat stack for one stage: reads the stack config, composes the components from the
topology (components/topology.py, which the local stage runs too) and exports the web client's
config under the same keys as the local stage's /config.json."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import packaging, settings, topology
from components.api_stage import StageLimits
from components.event_bus import BusRules, BusRulesArgs, EventBus, EventBusArgs
from components.event_store import EventStore, EventStoreArgs
from components.files import Files, FilesArgs
from components.frontend import Frontend, FrontendArgs, FrontendConfig, FrontendConfigArgs
from components.functions import (
    BUS_NAME,
    COGNITO_CLIENT_ID,
    COGNITO_ISSUER,
    MANAGEMENT_ENDPOINT,
    Functions,
    FunctionsArgs,
)
from components.http_api import HttpApi, HttpApiArgs
from components.identity import Identity, IdentityArgs
from components.observability import Observability, ObservabilityArgs
from components.policies import Grants
from components.queues import Queues, QueuesArgs
from components.stream_mappings import StreamMappings, StreamMappingsArgs
from components.tables import Tables, TablesArgs
from components.websocket_api import (
    WebSocketApi,
    WebSocketApiArgs,
    WebSocketRoutes,
    WebSocketRoutesArgs,
)

stage = settings.load()
shape = topology.current()
log_table = next(table for table in shape.tables if table.stream)
limits = StageLimits(stage.throttle_burst, stage.throttle_rate, stage.log_retention_days)

frontend = Frontend(
    "frontend",
    FrontendArgs(
        prefix=stage.prefix,
        build_dir=packaging.ROOT / stage.ui_build_dir,
        domain_name=stage.domain_name,
        certificate_arn=stage.certificate_arn,
    ),
)
web_origins = pulumi.Output.all(frontend.url, *stage.cors_origins)
identity = Identity(
    "identity",
    IdentityArgs(
        prefix=stage.prefix,
        region=stage.region,
        mfa=stage.mfa,
        password_min_length=stage.password_min_length,
        deletion_protection=stage.deletion_protection,
        callback_urls=pulumi.Output.all(
            pulumi.Output.concat(frontend.url, "/"), *stage.callback_urls
        ),
        # Hosted-UI prefixes are global per region: the account id keeps the default free.
        domain_prefix=stage.auth_domain_prefix
        or pulumi.Output.concat(stage.prefix, "-", aws.get_caller_identity_output().account_id),
        social=stage.social,
    ),
)
event_store = EventStore(
    "event-store",
    EventStoreArgs(log_table, stage.prefix, deletion_protection=stage.deletion_protection),
)
tables = Tables(
    "tables",
    TablesArgs(
        tuple(table for table in shape.tables if table is not log_table),
        stage.prefix,
        point_in_time_recovery=stage.point_in_time_recovery,
        deletion_protection=stage.deletion_protection,
    ),
)
all_tables = {log_table.name: event_store.table, **tables.tables}
queues = Queues("queues", QueuesArgs(shape.queues, stage.prefix))
bus = EventBus("event-bus", EventBusArgs(stage.prefix, stage.bus_archive_retention_days))
buckets = {
    bucket.name: Files(
        bucket.name,
        FilesArgs(
            bucket,
            stage.prefix,
            web_origins=web_origins,
            noncurrent_days=stage.noncurrent_file_days,
            retain=stage.deletion_protection,
        ),
    ).bucket
    for bucket in shape.buckets
}
websocket = WebSocketApi(
    "websocket",
    WebSocketApiArgs(
        stage.prefix, shape.ws_route_selection, stage.region, stage.manage_api_gateway_account
    ),
)
functions = Functions(
    "functions",
    FunctionsArgs(
        topology=shape,
        settings=stage,
        grants=Grants(
            tables={name: table.arn for name, table in all_tables.items()},
            streams={log_table.name: event_store.stream_arn},
            buckets={name: bucket.arn for name, bucket in buckets.items()},
            queues={name: queue.arn for name, queue in queues.queues.items()},
            bus=bus.bus.arn,
            connections=websocket.connections_arn,
            key_prefixes={bucket.name: bucket.key_prefix for bucket in shape.buckets},
        ),
        values={
            **{t.env_var: all_tables[t.name].name for t in shape.tables if t.env_var},
            **{b.env_var: buckets[b.name].bucket for b in shape.buckets},
            **{q.env_var: queues.queues[q.name].url for q in shape.queues if q.env_var},
            BUS_NAME: bus.bus.name,
            MANAGEMENT_ENDPOINT: websocket.management_endpoint,
            COGNITO_ISSUER: identity.issuer,
            COGNITO_CLIENT_ID: identity.client.id,
        },
        code=packaging.code_archive(),
        layer=packaging.dependency_layer(stage.architecture),
    ),
)
http = HttpApi(
    "http-api",
    HttpApiArgs(
        prefix=stage.prefix,
        routes=shape.http_routes,
        functions=functions.functions,
        default_function=shape.http_default,
        unguarded=shape.unguarded_http_routes(),
        cors_origins=web_origins,
        limits=limits,
    ),
)
WebSocketRoutes(
    "websocket-routes",
    WebSocketRoutesArgs(
        prefix=stage.prefix,
        api=websocket,
        routes=shape.ws_routes,
        functions=functions.functions,
        authorizer=shape.ws_authorizer,
        identity_sources=shape.ws_authorizer_identity,
        limits=limits,
    ),
)
StreamMappings(
    "stream-mappings",
    StreamMappingsArgs(
        shape.stream_mappings,
        shape.queue_mappings,
        streams={log_table.name: event_store.stream_arn},
        functions=functions.functions,
        queues=queues.queues,
        role_policies=functions.policies,
    ),
)
BusRules("bus-rules", BusRulesArgs(shape.bus_rules, bus.bus, functions.functions, queues.queues))
dead_letter_queues = shape.dead_letter_queues()
Observability(
    "observability",
    ObservabilityArgs(
        prefix=stage.prefix,
        region=stage.region,
        alarm_email=stage.alarm_email,
        functions=functions.functions,
        dead_letter_queues={
            name: queue for name, queue in queues.queues.items() if name in dead_letter_queues
        },
        delivery_queues={m.queue: queues.queues[m.queue] for m in shape.queue_mappings},
        mappings=shape.stream_mappings,
        iterator_age_alarm_s=stage.iterator_age_alarm_s,
        http_api_id=http.api.id,
        ws_api_id=websocket.api.id,
    ),
)

web_config: dict[str, pulumi.Input[str]] = {
    "apiUrl": http.url,
    "wsUrl": websocket.url,
    "region": stage.region,
    "userPoolId": identity.pool.id,
    "userPoolClientId": identity.client.id,
    "cognitoEndpoint": identity.endpoint,
}
FrontendConfig("frontend-config", FrontendConfigArgs(frontend.bucket, web_config))
for key, value in web_config.items():
    pulumi.export(key, value)
pulumi.export("webUrl", frontend.url)
pulumi.export("authDomain", identity.hosted_domain)

"""Broadcaster: an EventBridge chat event -> the open connections of the people it concerns."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.aws import table_name
from adapters.connections import DynamoConnections
from adapters.view_store import DynamoViewStore
from adapters.websocket import ConnectionsApi
from application.fanout import Connections, Poster, fan_out, recipients
from application.ports import ViewReader
from functions.composition import Root

logger = Logger(service="broadcaster")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Chat"))


class DeliveryFailed(Exception):
    """Some connections could not be reached for a reason other than being closed: retry."""


@dataclass(frozen=True)
class Deps:
    views: ViewReader
    connections: Connections
    poster: Poster


def from_environment() -> Deps:
    return Deps(
        DynamoViewStore(table_name("VIEWS_TABLE")),
        DynamoConnections(table_name("CONNECTIONS_TABLE")),
        ConnectionsApi(os.environ["WS_MANAGEMENT_ENDPOINT"]),
    )


root = Root(from_environment)


@metrics.log_metrics
@logger.inject_lambda_context
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    return handle(event, root())


def handle(event: EventBridgeEvent, deps: Deps) -> dict[str, Any]:
    detail: dict[str, Any] = dict(event.detail)
    users = recipients(event.detail_type, detail, deps.views.members)
    delivery = fan_out({"type": event.detail_type, **detail}, users, deps.connections, deps.poster)
    metrics.add_metric(name="FramesSent", unit=MetricUnit.Count, value=delivery.sent)
    metrics.add_metric(name="ConnectionsGone", unit=MetricUnit.Count, value=len(delivery.forgotten))
    if delivery.failed:
        # EventBridge retries the whole event; those who got it dedupe by (room_id, seq).
        raise DeliveryFailed(f"{len(delivery.failed)} connections unreachable")
    return {"sent": delivery.sent, "forgotten": len(delivery.forgotten)}

"""Broadcaster: room events from the FIFO queue (each room a message group, in seq order) and typing
signals from the bus -> the open connections of the people they concern."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.aws import table_name
from adapters.connections import DynamoConnections
from adapters.requeue import SqsRequeue
from adapters.view_store import DynamoViewStore
from adapters.websocket import ConnectionsApi
from application.fanout import Connections, Delivery, Poster, fan_out, recipients
from application.ports import ViewReader
from functions.composition import Root

logger = Logger(service="broadcaster")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Chat"))
# A failed room event fails the rest of its room's batch (they must not overtake it), never
# another room's.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
# When every message failed, report them all rather than raise: their visibility is shortened first.
processor.raise_on_entire_batch_failure = False

MAX_RETRY_DELAY_S = 20
# A room event is not started with less time left than this: one stuck delivery (posts retried
# through throttling) must not run the invocation past its timeout, or its batch would come back
# at the visibility timeout while a late post of it could still go out after later frames.
RESERVE_MS = 4000


class DeliveryFailed(Exception):
    """Some connections could not be reached for a reason other than being closed: retry."""


class OutOfTime(Exception):
    """Too little of the invocation is left to deliver this event: it comes back soon."""


class Requeue(Protocol):
    def later(self, receipt_handles: list[str], seconds: int) -> None: ...


@dataclass(frozen=True)
class Deps:
    views: ViewReader
    connections: Connections
    poster: Poster
    requeue: Requeue


def from_environment() -> Deps:
    return Deps(
        DynamoViewStore(table_name("VIEWS_TABLE")),
        DynamoConnections(table_name("CONNECTIONS_TABLE")),
        ConnectionsApi(os.environ["WS_MANAGEMENT_ENDPOINT"]),
        SqsRequeue(os.environ["ROOM_EVENTS_QUEUE_URL"]),
    )


root = Root(from_environment)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, root())


def handle(event: dict[str, Any], context: LambdaContext | None, deps: Deps) -> dict[str, Any]:
    """An SQS batch of room events (`Records`), or one EventBridge event (a typing signal)."""
    if "Records" in event:
        return dict(deliver_room_events(event, context, deps))
    bus_event = EventBridgeEvent(event)
    delivered = deliver({"type": bus_event.detail_type, **bus_event.detail}, deps)
    return {"sent": delivered.sent, "forgotten": len(delivered.forgotten)}


def deliver_room_events(
    event: dict[str, Any], context: LambdaContext | None, deps: Deps
) -> PartialItemFailureResponse:
    def record_handler(record: SQSRecord) -> None:
        if context is not None and context.get_remaining_time_in_millis() < RESERVE_MS:
            raise OutOfTime(record.message_id)
        deliver(msgspec.json.decode(record.body), deps)

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = {str(failure["itemIdentifier"]) for failure in response.get("batchItemFailures", [])}
    if failed:
        retry_later(event["Records"], failed, deps.requeue)
    return response


def retry_later(records: list[dict[str, Any]], failed: set[str], requeue: Requeue) -> None:
    """Failed messages come back after a short backoff rather than the queue's visibility timeout:
    until they do, their room's later events wait behind them."""
    again = [r for r in records if r["messageId"] in failed]
    receives = max(int(r["attributes"].get("ApproximateReceiveCount", "1")) for r in again)
    try:
        requeue.later(
            [r["receiptHandle"] for r in again], min(MAX_RETRY_DELAY_S, 2 ** (receives - 1))
        )
    except Exception:  # they come back at the visibility timeout instead
        logger.exception("could not shorten the failed messages' visibility")


def deliver(frame: dict[str, Any], deps: Deps) -> Delivery:
    users = recipients(str(frame["type"]), frame, deps.views.members)
    delivery = fan_out(frame, users, deps.connections, deps.poster)
    metrics.add_metric(name="FramesSent", unit=MetricUnit.Count, value=delivery.sent)
    metrics.add_metric(name="ConnectionsGone", unit=MetricUnit.Count, value=len(delivery.forgotten))
    if delivery.failed:
        # The event comes again; those who got it already drop it by (room_id, seq).
        raise DeliveryFailed(f"{len(delivery.failed)} connections unreachable")
    return delivery

"""Projector: the events table's DynamoDB Stream -> views table, the room events' FIFO queue and
EventBridge.

The batch is projected first (each room in order, rooms side by side); Powertools then reports
each record's outcome as Lambda's partial batch response."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.aws import table_name
from adapters.bus import EventBridgeBus
from adapters.event_codec import event_image, from_event_item
from adapters.room_feed import SqsFifoFeed
from adapters.view_store import DynamoViewStore
from application.ports import EventBus, ViewStore
from application.projector import EachOf, HeldBack, StreamProjector
from domain.events import UnknownEvent
from functions.composition import Root

logger = Logger(service="projector")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Chat"))
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@dataclass(frozen=True)
class Deps:
    views: ViewStore
    bus: EventBus  # every event, for the bus's archive and its other consumers
    feed: EventBus  # each room's events in order, for its members (the broadcaster)


def from_environment() -> Deps:
    return Deps(
        DynamoViewStore(table_name("VIEWS_TABLE")),
        EventBridgeBus(os.environ["EVENT_BUS_NAME"]),
        SqsFifoFeed(os.environ["ROOM_EVENTS_QUEUE_URL"]),
    )


root = Root(from_environment)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return handle(event, context, root())


def handle(event: dict[str, Any], context: LambdaContext, deps: Deps) -> PartialItemFailureResponse:
    images = {
        record["dynamodb"]["SequenceNumber"]: image
        for record in event["Records"]
        if (image := event_image(record)) is not None
    }
    outcomes = dict(
        zip(
            images,
            StreamProjector(deps.views, EachOf((deps.feed, deps.bus))).project(
                [(image["pk"]["S"], partial(from_event_item, image)) for image in images.values()]
            ),
            strict=True,
        )
    )

    def record_handler(record: DynamoDBRecord) -> None:
        sequence = _sequence(record)
        if sequence not in outcomes:  # a stream head, command record, tombstone or TTL removal
            metrics.add_metric(name="RecordsSkipped", unit=MetricUnit.Count, value=1)
            return
        failure = outcomes[sequence]
        if isinstance(failure, UnknownEvent):
            logger.error("undecodable event record", sequence=sequence, reason=str(failure))
        elif isinstance(failure, HeldBack):
            logger.warning("held back behind a failed event", sequence=sequence)
        if failure is not None:
            raise failure
        metrics.add_metric(name="EventsProjected", unit=MetricUnit.Count, value=1)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


def _sequence(record: DynamoDBRecord) -> str | None:
    return record.dynamodb.sequence_number if record.dynamodb else None

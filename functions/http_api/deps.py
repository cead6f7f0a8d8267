"""What the HTTP API works with, built from the environment the Pulumi program (or the local
stage) gives the function."""

from __future__ import annotations

import os
from dataclasses import dataclass

from adapters.aws import table_name
from adapters.event_store import DynamoEventStore
from adapters.files import S3Files
from adapters.rate_limits import DynamoRateLimiter
from adapters.tokens import CognitoVerifier, verifier_from_environment
from adapters.view_store import DynamoViewStore
from application.ports import EventStore, FileStore, RateLimiter, ViewReader
from application.service import ChatService


@dataclass(frozen=True)
class Deps:
    events: EventStore
    views: ViewReader
    chat: ChatService
    files: FileStore
    limits: RateLimiter
    tokens: CognitoVerifier


def from_environment() -> Deps:
    events = DynamoEventStore(table_name("EVENTS_TABLE"))
    return Deps(
        events=events,
        views=DynamoViewStore(table_name("VIEWS_TABLE")),
        chat=ChatService(events),
        files=S3Files(os.environ["FILES_BUCKET"], upload_url=os.environ.get("FILES_UPLOAD_URL")),
        limits=DynamoRateLimiter(table_name("RATE_LIMITS_TABLE")),
        tokens=verifier_from_environment(),
    )

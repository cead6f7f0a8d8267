"""Posts frames to WebSocket connections through API Gateway's @connections management API."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from adapters.aws import CONFIG
from application.fanout import Gone

# A post that keeps failing (a connection throttled, its buffer full) fails the event after a
# retry, and the event comes back through its queue's backoff: a post must never hold a room's
# frames for longer than the broadcaster can wait.
POST_CONFIG = CONFIG.merge(
    Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=3)
)


class ConnectionsApi:
    def __init__(self, endpoint_url: str, api: Any = None) -> None:
        # An explicit endpoint: the stage's own API (or the local gateway), never AWS_ENDPOINT_URL.
        self.api = api or boto3.session.Session().client(
            "apigatewaymanagementapi", endpoint_url=endpoint_url, config=POST_CONFIG
        )

    def post(self, connection_id: str, data: bytes) -> None:
        try:
            self.api.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "GoneException":
                raise Gone(connection_id) from error
            raise

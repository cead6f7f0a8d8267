"""Open WebSocket connections, by user: pk `user#<id>`, sk the connection id, with a TTL."""

from __future__ import annotations

import time
from typing import Any, Final

from adapters.aws import client

MAX_CONNECTION_S: Final = 2 * 3600  # API Gateway closes a WebSocket after two hours


class DynamoConnections:
    def __init__(self, table: str, dynamodb: Any = None) -> None:
        self.table = table
        self.dynamodb = dynamodb or client("dynamodb")

    @staticmethod
    def _key(user_id: str, connection_id: str) -> dict[str, Any]:
        return {"pk": {"S": "user#" + user_id}, "sk": {"S": connection_id}}

    def add(self, user_id: str, connection_id: str, connected_at_ms: int) -> None:
        expires = connected_at_ms // 1000 + MAX_CONNECTION_S
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                **self._key(user_id, connection_id),
                "connected_at": {"N": str(connected_at_ms)},
                "expires_at": {"N": str(expires)},
            },
        )

    def remove(self, user_id: str, connection_id: str) -> None:
        self.dynamodb.delete_item(TableName=self.table, Key=self._key(user_id, connection_id))

    def of_user(self, user_id: str) -> list[str]:
        """The user's open connections (a TTL'd item may linger up to a day past its expiry)."""
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            FilterExpression="expires_at > :now",
            ExpressionAttributeValues={
                ":pk": {"S": "user#" + user_id},
                ":now": {"N": str(int(time.time()))},
            },
        )
        return [item["sk"]["S"] for page in pages for item in page["Items"]]

"""Open WebSocket connections, by user: one item per user (pk `user#<id>`, sk `open`) holding an
attribute `c#<connection id>` = expiry for each open connection.

One item per user lets the broadcaster fetch every member's connections with one BatchGetItem per
100 members, instead of one Query per member; adding and removing a connection are single-item
updates, so concurrent tabs never overwrite each other.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Final

from botocore.exceptions import ClientError

from adapters.aws import client
from domain.limits import MAX_CONNECTION_S

BATCH_GET_LIMIT: Final = 100
PREFIX: Final = "c#"
SORT_KEY: Final = "open"


class DynamoConnections:
    def __init__(self, table: str, dynamodb: Any = None) -> None:
        self.table = table
        self.dynamodb = dynamodb or client("dynamodb")

    @staticmethod
    def _key(user_id: str) -> dict[str, Any]:
        return {"pk": {"S": "user#" + user_id}, "sk": {"S": SORT_KEY}}

    def add(self, user_id: str, connection_id: str, connected_at_ms: int) -> None:
        # The item outlives each of its connections: its TTL is the newest connection's end.
        expires = str(connected_at_ms // 1000 + MAX_CONNECTION_S)
        self.dynamodb.update_item(
            TableName=self.table,
            Key=self._key(user_id),
            UpdateExpression="SET #c = :expires, expires_at = :expires",
            ExpressionAttributeNames={"#c": PREFIX + connection_id},
            ExpressionAttributeValues={":expires": {"N": expires}},
        )

    def remove(self, user_id: str, connection_id: str) -> None:
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self._key(user_id),
                UpdateExpression="REMOVE #c",
                # An item already expired (TTL) must not come back as a key without an expiry.
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#c": PREFIX + connection_id},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def of_user(self, user_id: str) -> list[str]:
        return self.of_users([user_id]).get(user_id, [])

    def of_users(self, user_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each user's open connections, read consistently (a tab that just connected gets the
        next frame); users without any are left out."""
        users = sorted(set(user_ids))
        now = int(time.time())
        found: dict[str, list[str]] = {}
        for start in range(0, len(users), BATCH_GET_LIMIT):
            keys = [self._key(user) for user in users[start : start + BATCH_GET_LIMIT]]
            for item in self._batch_get(keys):
                user = item["pk"]["S"].removeprefix("user#")
                open_ = sorted(
                    name.removeprefix(PREFIX)
                    for name, value in item.items()
                    if name.startswith(PREFIX) and int(value["N"]) > now
                )
                if open_:
                    found[user] = open_
        return found

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            answer = self.dynamodb.batch_get_item(RequestItems=request)
            items.extend(answer["Responses"].get(self.table, []))
            request = answer.get("UnprocessedKeys") or {}
        return items

"""The read models on DynamoDB: guarded upserts from the projector, and the queries the API needs.

Every query here is a GetItem, a Query on one partition or a BatchGetItem: no request path scans.
`scan_rows`, `get_rows`, `put_rows`, `delete_rows` and the `..._if` writes exist for replay and
drift checks only.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, Final

from botocore.exceptions import ClientError

from adapters.aws import client, resource
from adapters.items import from_item, to_item, to_value
from domain.projection import (
    INBOX_PREFIX,
    Key,
    Row,
    Write,
    inbox_entries,
    member_key,
    message_sk,
    room_key,
)

BATCH_GET_MAX: Final = 100
HISTORY_MAX: Final = 100
UNPROCESSED_ATTEMPTS: Final = 8  # BatchGetItem leaves keys unprocessed when throttled
WRITES_SIDE_BY_SIDE: Final = 16


@cache
def _writers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=WRITES_SIDE_BY_SIDE, thread_name_prefix="view-write")


class DynamoViewStore:
    def __init__(self, table: str, dynamodb: Any = None) -> None:
        self.table = table
        self.dynamodb = dynamodb or client("dynamodb")
        self.calls = 0  # requests made (benchmarks read it)
        self.counting = threading.Lock()  # the projector applies streams from several threads

    # --- projector ------------------------------------------------------------------------------

    def apply(self, writes: Iterable[Write]) -> int:
        """Apply each write unless its row already reflects that version; returns how many did.

        An event's writes touch different rows, each guarded on its own, so they go side by side:
        an event's projection takes one round trip, not one per row."""
        writes = list(writes)
        with self.counting:
            self.calls += len(writes)
        if len(writes) == 1:
            return int(self._apply(writes[0]))
        return sum(_writers().map(self._apply, writes))

    def _apply(self, write: Write) -> bool:
        names = {f"#f{i}": name for i, name in enumerate(write.fields)}
        values = {f":f{i}": to_value(value) for i, value in enumerate(write.fields.values())}
        names["#guard"] = write.guard
        values[":version"] = {"N": str(write.version)}
        assignments = ", ".join(f"#f{i} = :f{i}" for i in range(len(write.fields)))
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=_item_key(write.key),
                UpdateExpression="SET " + assignments,
                ConditionExpression="attribute_not_exists(#guard) OR #guard < :version",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    # --- queries --------------------------------------------------------------------------------

    def room(self, room_id: str) -> Row | None:
        return self._get(room_key(room_id))

    def member(self, room_id: str, user_id: str) -> Row | None:
        return self._get(member_key(room_id, user_id))

    def members(self, room_id: str) -> list[str]:
        partition, prefix = member_key(room_id, "")
        rows = self._query(
            "pk = :pk AND begins_with(sk, :member)",
            {":pk": {"S": partition}, ":member": {"S": prefix}},
        )
        return [row["user_id"] for row in rows if row.get("active")]

    def messages(self, room_id: str, before: int | None = None, limit: int = 50) -> list[Row]:
        """A page of history, newest first, strictly before `before` (a seq) when given."""
        limit = max(1, min(limit, HISTORY_MAX))
        if before is not None and before <= 1:
            return []  # no message has a seq below 1
        upper = message_sk(before - 1) if before is not None else message_sk(10**12 - 1)
        response = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": {"S": room_key(room_id)[0]},
                ":low": {"S": message_sk(0)},
                ":high": {"S": upper},
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        self.calls += 1
        return [from_item(item) for item in response["Items"]]

    def inbox(self, user_id: str) -> list[dict[str, Any]]:
        """The rooms a user belongs to, most recently active first, with unread counts."""
        memberships = [
            row
            for row in self._query("pk = :pk", {":pk": {"S": INBOX_PREFIX + user_id}})
            if row.get("member")
        ]
        rooms = self._batch_get([room_key(row["room_id"]) for row in memberships])
        return inbox_entries(memberships, rooms)

    # --- replay and drift -----------------------------------------------------------------------

    def scan_rows(self) -> Iterator[Row]:
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=self.table):
            yield from (from_item(item) for item in page["Items"])

    def put_rows(self, rows: Iterable[Row]) -> int:
        count = 0
        with resource("dynamodb").Table(self.table).batch_writer() as batch:
            for row in rows:
                batch.put_item(Item=row)
                count += 1
        return count

    def delete_rows(self, keys: Iterable[Key]) -> int:
        count = 0
        with resource("dynamodb").Table(self.table).batch_writer() as batch:
            for pk, sk in keys:
                batch.delete_item(Key={"pk": pk, "sk": sk})
                count += 1
        return count

    def get_rows(self, keys: Iterable[Key]) -> dict[Key, Row]:
        """The rows at `keys` that exist, read consistently: a drift check reads again, after
        its scan, the rows it doubts."""
        return self._batch_get(list(dict.fromkeys(keys)), consistent=True)

    def put_row_if(self, row: Row, newest: Mapping[str, int]) -> bool:
        """Replace the row at the row's key unless one of the `newest` guards (attribute ->
        version) of the row there is above its version; False when one was."""
        return self._guarded("put_item", newest, Item=to_item(row))

    def update_row_if(
        self, key: Key, fields: Row, remove: Iterable[str], newest: Mapping[str, int]
    ) -> bool:
        """Set `fields` and remove the attributes `remove` of the row at `key`, unless one of the
        `newest` guards of the row is above its version; False when one was."""
        names = {f"#s{i}": name for i, name in enumerate(fields)}
        values = {f":s{i}": to_value(value) for i, value in enumerate(fields.values())}
        removed = {f"#r{i}": name for i, name in enumerate(remove)}
        parts = []
        if names:
            parts.append("SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(names))))
        if removed:
            parts.append("REMOVE " + ", ".join(removed))
        if not parts:
            return True
        return self._guarded(
            "update_item",
            newest,
            {**names, **removed},
            values,
            Key=_item_key(key),
            UpdateExpression=" ".join(parts),
        )

    def delete_row_if(self, key: Key, newest: Mapping[str, int]) -> bool:
        """Delete the row at `key` unless one of the `newest` guards of the row is above its
        version; False when one was."""
        return self._guarded("delete_item", newest, Key=_item_key(key))

    def _guarded(
        self,
        request: str,
        newest: Mapping[str, int],
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        **params: Any,
    ) -> bool:
        """Make `request` on the condition that each guard in `newest` is absent or at most its
        version: the projector's condition (`_apply`) seen from the other side. False when the
        condition failed."""
        names, values = dict(names or {}), dict(values or {})
        clauses = []
        for i, (guard, version) in enumerate(newest.items()):
            names[f"#g{i}"], values[f":g{i}"] = guard, {"N": str(version)}
            clauses.append(f"(attribute_not_exists(#g{i}) OR #g{i} <= :g{i})")
        if clauses:
            params["ConditionExpression"] = " AND ".join(clauses)
        if names:
            params["ExpressionAttributeNames"] = names
        if values:
            params["ExpressionAttributeValues"] = values
        self.calls += 1
        try:
            getattr(self.dynamodb, request)(TableName=self.table, **params)
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    # --- plumbing -------------------------------------------------------------------------------

    def _get(self, key: Key) -> Row | None:
        self.calls += 1
        response = self.dynamodb.get_item(TableName=self.table, Key=_item_key(key))
        item = response.get("Item")
        return from_item(item) if item else None

    def _query(self, condition: str, values: dict[str, Any]) -> list[Row]:
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table, KeyConditionExpression=condition, ExpressionAttributeValues=values
        )
        rows: list[Row] = []
        for page in pages:
            self.calls += 1
            rows.extend(from_item(item) for item in page["Items"])
        return rows

    def _batch_get(self, keys: list[Key], consistent: bool = False) -> dict[Key, Row]:
        found: dict[Key, Row] = {}
        for start in range(0, len(keys), BATCH_GET_MAX):
            request: dict[str, Any] = {
                "Keys": [_item_key(key) for key in keys[start : start + BATCH_GET_MAX]]
            }
            if consistent:
                request["ConsistentRead"] = True
            pending: dict[str, Any] = {self.table: request}
            for attempt in itertools.count():
                self.calls += 1
                response = self.dynamodb.batch_get_item(RequestItems=pending)
                for item in response["Responses"].get(self.table, []):
                    row = from_item(item)
                    found[(row["pk"], row["sk"])] = row
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                if attempt >= UNPROCESSED_ATTEMPTS:
                    raise RuntimeError(f"{self.table}: keys left unprocessed after {attempt} tries")
                time.sleep(min(0.05 * 2**attempt, 2.0) * random.random())  # throttled: back off
        return found


def _item_key(key: Key) -> dict[str, Any]:
    return {"pk": {"S": key[0]}, "sk": {"S": key[1]}}


def _condition_failed(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")

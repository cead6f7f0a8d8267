"""The view store sends an event's row writes side by side: one round trip per event, not one
per row (the rows differ and each write is guarded on its own)."""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError

from adapters.view_store import DynamoViewStore
from domain.projection import Write


class BarrierClient:
    """update_item waits until `rows` writes are in flight at once (or fails after 10 s)."""

    def __init__(self, rows: int, refuse: str = "") -> None:
        self.together = threading.Barrier(rows, timeout=10)
        self.refuse = refuse
        self.keys: list[str] = []

    def update_item(self, **request: Any) -> None:
        self.together.wait()
        self.keys.append(request["Key"]["sk"]["S"])
        if request["Key"]["sk"]["S"] == self.refuse:
            raise ClientError(
                {"Error": {"Code": "ConditionalCheckFailedException", "Message": ""}}, "UpdateItem"
            )


def writes(count: int) -> list[Write]:
    return [Write(("room#r", f"row{i}"), "v", 7, {"text": "hi", "v": 7}) for i in range(count)]


def test_an_events_writes_are_in_flight_together_and_each_is_counted() -> None:
    dynamodb = BarrierClient(rows=3)
    views = DynamoViewStore("views", dynamodb)

    assert views.apply(writes(3)) == 3
    assert sorted(dynamodb.keys) == ["row0", "row1", "row2"]
    assert views.calls == 3


def test_a_row_that_already_reflects_the_event_is_left_and_the_others_still_apply() -> None:
    dynamodb = BarrierClient(rows=3, refuse="row1")

    assert DynamoViewStore("views", dynamodb).apply(writes(3)) == 2

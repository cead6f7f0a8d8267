"""What the local stage keeps on disk between runs: the events table and the users who signed up.

The views are not kept: they are rebuilt from the log by the replay code at start, which is the
event-sourcing promise made good on every restart."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from adapters.aws import client
from adapters.event_codec import from_event_item
from adapters.view_store import DynamoViewStore
from ops.replay import fold_log

EVENTS_FILE = "events.jsonl"
USERS_FILE = "users.jsonl"


class LocalState:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    # --- the log -------------------------------------------------------------------------------

    def save_events(self, table: str) -> int:
        """Every item of the events table (events and the heads, records and memberships that
        go with them), written to a new file and then moved into place."""
        pages = client("dynamodb").get_paginator("scan").paginate(TableName=table)
        items = [item for page in pages for item in page["Items"]]
        with self._lock:
            partial = self.folder / (EVENTS_FILE + ".partial")
            with partial.open("w") as out:
                for item in items:
                    out.write(json.dumps(item) + "\n")
            partial.replace(self.folder / EVENTS_FILE)
        return len(items)

    def restore_events(self, events_table: str, views_table: str) -> int:
        """Put the saved items back and rebuild the views from the events among them."""
        path = self.folder / EVENTS_FILE
        if not path.exists():
            return 0
        items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        dynamodb = client("dynamodb")
        for start in range(0, len(items), 25):
            pending: dict[str, Any] = {
                events_table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            }
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems")
        event_items = [item for item in items if item.get("sk", {}).get("N", "0") != "0"]
        views, _ = fold_log(event_items, from_event_item)
        DynamoViewStore(views_table).put_rows(views.items())
        return len(event_items)

    # --- users -----------------------------------------------------------------------------------

    def remember_user(self, username: str, password: str, attributes: list[dict[str, str]]) -> None:
        with self._lock, (self.folder / USERS_FILE).open("a") as out:
            out.write(
                json.dumps({"username": username, "password": password, "attributes": attributes})
                + "\n"
            )

    def users(self) -> list[dict[str, Any]]:
        path = self.folder / USERS_FILE
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

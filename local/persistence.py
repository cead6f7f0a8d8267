"""What the local stage keeps on disk between runs: the events table and the users who signed up.

The events table is written down as it changes: a journal follows the table's stream and appends
every change to `events.jsonl` (an item, or `{"REMOVE": key}`), so a stage killed without warning
loses at most the change in flight. A clean stop compacts the file to the table's items. The views
are not kept: they are rebuilt from the log by the replay code at start, which is the
event-sourcing promise made good on every restart."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from adapters.aws import client
from adapters.event_codec import from_event_item
from adapters.view_store import DynamoViewStore
from local.streams import StreamReader
from ops.replay import fold_log

log = logging.getLogger("local.persistence")

EVENTS_FILE = "events.jsonl"
USERS_FILE = "users.jsonl"
REMOVED = "REMOVE"
JOURNAL_POLL_S = 0.2


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["pk"]["S"], item["sk"]["N"]


class Journal(threading.Thread):
    """Follows the events table's stream from now on and appends each change to the saved log."""

    def __init__(self, state: LocalState, reader: StreamReader) -> None:
        super().__init__(daemon=True, name="journal")
        self.state, self.reader = state, reader
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(JOURNAL_POLL_S):
            self.catch_up()

    def catch_up(self) -> None:
        try:
            self.state.append_changes(self.reader.poll())
        except Exception:  # moto going away at stop, or a full disk: say so and go on
            log.exception("journal: could not save the latest changes")


class LocalState:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._end_torn_line()

    def _end_torn_line(self) -> None:
        """A run killed mid-write leaves a line without its end: close it, so that it stays alone
        (and is skipped) instead of swallowing this run's first change."""
        path = self.folder / EVENTS_FILE
        if not path.exists() or path.stat().st_size == 0:
            return
        with path.open("rb+") as saved:
            saved.seek(-1, 2)
            if saved.read(1) != b"\n":
                saved.write(b"\n")

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

    def append_changes(self, records: list[dict[str, Any]]) -> None:
        """Stream records of the events table, appended to the saved log."""
        lines = []
        for record in records:
            change = record["dynamodb"]
            if record["eventName"] == "REMOVE":
                lines.append(json.dumps({REMOVED: change["Keys"]}))
            else:
                lines.append(json.dumps(change["NewImage"]))
        if lines:
            with self._lock, (self.folder / EVENTS_FILE).open("a") as out:
                out.write("\n".join(lines) + "\n")

    def saved_items(self) -> list[dict[str, Any]]:
        """The items as the saved log leaves them: later lines replace or remove earlier ones."""
        path = self.folder / EVENTS_FILE
        if not path.exists():
            return []
        items: dict[tuple[str, str], dict[str, Any]] = {}
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:  # a line cut short by a kill: the change was in flight
                continue
            if REMOVED in entry:
                items.pop(_key(entry[REMOVED]), None)
            else:
                items[_key(entry)] = entry
        return list(items.values())

    def restore_events(self, events_table: str, views_table: str) -> int:
        """Put the saved items back and rebuild the views from the events among them."""
        items = self.saved_items()
        if not items:
            return 0
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

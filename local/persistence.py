"""What the local stage keeps on disk between runs: the events table and the users who signed up.

The events table is kept by the DynamoDB server itself, as DynamoDB keeps a table: the stage
starts it with a journal (`events.jsonl`, local/moto_server.py's `Journal`), to which every change
is appended before the write is acknowledged, so an acknowledged write survives even a SIGKILL of
every process of the stage. When the table is created the server puts the saved items back into
it, and a clean stop compacts the file to the table's items. The views are not kept: they are
rebuilt from the log by the replay code at start, which is the event-sourcing promise made good on
every restart."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from adapters.aws import client
from adapters.event_codec import from_event_item, is_event_item
from adapters.view_store import DynamoViewStore
from local.password_hash import MARK, hashed
from local.whole_file import replace_whole
from ops.replay import fold_log

EVENTS_FILE = "events.jsonl"
USERS_FILE = "users.jsonl"


class LocalState:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    # --- the log -------------------------------------------------------------------------------

    @property
    def events_log(self) -> Path:
        """The events table's journal, written by the DynamoDB server (see the module's doc)."""
        return self.folder / EVENTS_FILE

    def restore_views(self, events_table: str, views_table: str) -> int:
        """Rebuild the views from the events the DynamoDB server put back into the events table;
        returns how many events there were."""
        pages = client("dynamodb").get_paginator("scan").paginate(TableName=events_table)
        events = [item for page in pages for item in page["Items"] if is_event_item(item)]
        if not events:
            return 0
        views, _ = fold_log(events, from_event_item)
        DynamoViewStore(views_table).put_rows(views.items())
        return len(events)

    # --- users -----------------------------------------------------------------------------------

    def remember_user(self, username: str, password: str, attributes: list[dict[str, str]]) -> None:
        """Kept with its password hashed: the file never holds a password."""
        path = self.folder / USERS_FILE
        user = {"username": username, "password": hashed(password), "attributes": attributes}
        with self._lock, path.open("ab") as out:
            # A line cut short by a kill ends where this one starts: begin on a line of its own.
            torn = out.tell() > 0 and not path.read_bytes().endswith(b"\n")
            out.write((b"\n" if torn else b"") + json.dumps(user).encode() + b"\n")

    def users(self) -> list[dict[str, Any]]:
        """The users signed up, each with its password's hash; a line cut short by a kill (that
        sign-up was never answered as remembered) is left out. A file written before passwords
        were hashed is rewritten hashed."""
        path = self.folder / USERS_FILE
        if not path.exists():
            return []
        users = []
        for line in path.read_text().splitlines():
            try:
                users.append(json.loads(line))
            except ValueError:
                continue
        clear = [user for user in users if not str(user["password"]).startswith(MARK)]
        for user in clear:
            user["password"] = hashed(user["password"])
        if clear:
            with self._lock:
                replace_whole(path, "".join(json.dumps(user) + "\n" for user in users))
        return users

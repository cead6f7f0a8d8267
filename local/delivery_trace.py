"""A record of how room events travel on the local stage, to explain a frame that reached a
socket out of order: what each queue poller was handed (message group, seq, receive count), what
each invocation reported failed, what was deleted, and each frame queued on a connection.

Off unless `CHAT_DELIVERY_TRACE` names a file (bench/soak.py sets it under its `--keep` folder);
one JSON object a line, appended, so the lines of a stage killed and started again follow on (a
kill may leave a line cut short: a reader skips what it cannot parse)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Final

ENV: Final = "CHAT_DELIVERY_TRACE"


class DeliveryTrace:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, kind: str, **fields: Any) -> None:
        """One line; a trace that cannot be written never stops a delivery."""
        if self.path is None:
            return
        with self._lock:  # the time taken inside: lines are in the order of their times
            line = json.dumps({"at": round(time.time(), 4), "kind": kind, **fields})
            try:
                with self.path.open("a") as out:
                    out.write(line + "\n")
            except OSError:
                pass


def frame_position(body: str | bytes) -> dict[str, Any]:
    """The room and seq of a frame (a room event's), or nothing for any other body."""
    try:
        frame = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(frame, dict) or not isinstance(frame.get("seq"), int):
        return {}
    return {"room": frame.get("room_id"), "seq": frame["seq"]}


def from_environment() -> DeliveryTrace:
    path = os.environ.get(ENV)
    return DeliveryTrace(Path(path) if path else None)


TRACE = from_environment()

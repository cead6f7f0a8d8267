"""Keeps Python's full garbage collections from pausing a local-stage process mid-request.

A full collection walks every container object the process holds: in the stage (modules, botocore
models, function instances) and in moto (every item of every table) that took 50-200 ms, during
which no thread ran, and it was most of the real-time path's tail latency. Every few seconds what
survived the young collections is frozen (full collections skip frozen objects; reference counting
still frees them). Cyclic garbage frozen meanwhile would never be found, so every ten minutes
everything is unfrozen, collected once and frozen again: one pause there instead of many.
"""

from __future__ import annotations

import gc
import threading
import time
from functools import cache
from typing import Final

FREEZE_EVERY_S: Final = 2.0
FULL_COLLECTION_EVERY_S: Final = 600.0


def keep_collections_quiet() -> None:
    """Collect and freeze what start-up made now, then keep doing so in a daemon thread (one per
    process, however many stages it starts)."""
    settle(full=True)
    _settler()


@cache
def _settler() -> threading.Thread:
    thread = threading.Thread(target=_settle_forever, daemon=True, name="quiet-gc")
    thread.start()
    return thread


def settle(full: bool) -> None:
    """Freeze what lives now; `full` first unfreezes and collects everything (frozen garbage)."""
    if full:
        gc.unfreeze()
        gc.collect()
    else:
        gc.collect(1)  # young garbage goes now; only survivors are frozen
    gc.freeze()


def _settle_forever() -> None:
    last_full = time.monotonic()
    while True:
        time.sleep(FREEZE_EVERY_S)
        full = time.monotonic() - last_full > FULL_COLLECTION_EVERY_S
        settle(full)
        if full:
            last_full = time.monotonic()

"""Files of the local stage's state folder, replaced whole: a reader (or a restart after a kill)
sees the previous file or the new one, never part of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_whole(path: Path, text: str) -> None:
    """Replace `path` with `text`, readable and writable by its owner only (these files hold
    credentials, keys and password hashes). The text is written to a file of a fresh name beside
    it (never one a link could stand in for), synced, moved over it, and the move synced too.
    What a kill left of an earlier write is removed first: each of these files has one writer."""
    for leftover in path.parent.glob(f".{path.name}.*"):
        leftover.unlink(missing_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)

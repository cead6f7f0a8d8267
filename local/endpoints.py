"""How a running local stage is found: `make dev` records its endpoints in `<state>/endpoints.json`
when it has started and removes the file on a clean stop; `chat --local` reads it.

The file holds the AWS variables the stage's own boto3 uses (the moto endpoints, DynamoDB's among
them, the region and the stage's credentials), the table names, the gateway's address and the
stage's pid. A stage killed without warning leaves its file behind: its pid is then gone, and so
are its endpoints, and the file is refused as stale."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from local.whole_file import replace_whole

ENDPOINTS_FILE = "endpoints.json"
VERSION = 1
# What the stage's boto3 is bound to: every endpoint variable, region and credentials.
_ENDPOINT_PREFIX = "AWS_ENDPOINT_URL"
_ALSO_RECORDED = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")


class NoLocalStage(Exception):
    """No running stage recorded in the folder; the message says what to do."""


@dataclass(frozen=True)
class Endpoints:
    pid: int
    prefix: str
    tables: dict[str, str]  # logical name ("events", "views", ...) -> physical name
    aws: dict[str, str]  # the AWS variables a client of the stage needs, and nothing else
    gateway: str = ""

    @property
    def region(self) -> str:
        return self.aws.get("AWS_DEFAULT_REGION", "")


def aws_variables(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The AWS variables this process's boto3 is bound to (as the stage's moto servers set them)."""
    return {
        name: value
        for name, value in sorted(environ.items())
        if name.startswith(_ENDPOINT_PREFIX) or name in _ALSO_RECORDED
    }


def record(folder: Path, endpoints: Endpoints) -> Path:
    """Write the file atomically: a reader sees the previous file, or none, or this whole one."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ENDPOINTS_FILE
    text = json.dumps({"version": VERSION, **asdict(endpoints)}, indent=2, sort_keys=True)
    replace_whole(path, text + "\n")
    return path


def remove(folder: Path, pid: int | None = None) -> None:
    """Remove the file if it is this process's (`pid`, default ours): a second stage that failed
    to start on the same folder must not unpublish the one that runs."""
    path = folder / ENDPOINTS_FILE
    try:
        recorded = json.loads(path.read_text())["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if recorded == (os.getpid() if pid is None else pid):
        path.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def answers(url: str, timeout: float = 1.0) -> bool:
    """Whether something accepts connections at the URL's host and port."""
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            return True
    except OSError:
        return False


def find(folder: Path) -> Endpoints:
    """The stage running on `folder`, or NoLocalStage saying why there is none."""
    refusal = f"no local stage is running in {folder}: start it with `make dev`"
    path = folder / ENDPOINTS_FILE
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        raise NoLocalStage(refusal) from None
    except (OSError, ValueError) as error:
        raise NoLocalStage(f"{refusal} ({path} is unreadable: {error})") from None
    try:
        if saved.pop("version") != VERSION:
            raise ValueError("another version")
        endpoints = Endpoints(**saved)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise NoLocalStage(f"{refusal} ({path} is not a stage's record: {error})") from None
    if not pid_alive(endpoints.pid):
        raise NoLocalStage(f"{refusal} (the stage that wrote {path}, pid {endpoints.pid}, is gone)")
    try:
        urls = [url for name, url in endpoints.aws.items() if name.startswith(_ENDPOINT_PREFIX)]
    except AttributeError as error:
        raise NoLocalStage(f"{refusal} ({path} is not a stage's record: {error})") from None
    silent = sorted(url for url in urls if not answers(url))
    if silent:
        raise NoLocalStage(
            f"{refusal} (pid {endpoints.pid} is alive but {', '.join(silent)} does not answer)"
        )
    return endpoints

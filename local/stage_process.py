"""`make dev` as a child process, for tests and benchmarks that kill it: it runs in a session of
its own, so one SIGKILL to its process group takes the gateway, the functions and both moto
servers at once, as a power cut would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import requests

from local import chaos
from local.moto_process import ROOT, free_port


def start(
    folder: Path, port: int, failure_modes: str = "off", log: Path | None = None
) -> subprocess.Popen[bytes]:
    """The stage on `folder` and `port`, playing the named failure modes (local/chaos.py); what
    it prints goes to `log` when given."""
    with open(log or os.devnull, "ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "local.stage", "--port", str(port), "--state", str(folder)],
            cwd=ROOT,
            start_new_session=True,
            stdout=output,
            stderr=output if log else None,
            env={**os.environ, chaos.ENV: failure_modes},
        )


@contextmanager
def stage_process(
    folder: Path, port: int | None = None, failure_modes: str = "off"
) -> Iterator[tuple[dict[str, Any], subprocess.Popen[bytes]]]:
    """The stage and its `/config.json`, once it answers; killed at the end if nobody has."""
    port = port or free_port()
    process = start(folder, port, failure_modes)
    try:
        yield wait_for_config(f"http://127.0.0.1:{port}/config.json", process), process
    finally:
        kill_all(process)


def kill_all(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to every process of the stage (its process group) at once."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def wait_for_config(url: str, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the stage exited with {process.returncode}")
        try:
            return dict(requests.get(url, timeout=1).json())
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("the stage did not start within 60 s")

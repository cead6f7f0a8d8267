"""`chat --local` finds the running local stage by the file it records in its state folder: no
port, credentials, region or table to give."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domain.events import decode_envelope
from local.endpoints import ENDPOINTS_FILE
from local.moto_process import ROOT
from local.stage import LocalStage
from ops.cli import main
from tests.e2e.support import api


def chat(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The `chat` command in a process of its own whose environment says nothing about AWS (a
    profile that does not exist would fail the run if it were used)."""
    command = Path(sys.executable).with_name("chat")
    argv = [str(command)] if command.exists() else [sys.executable, "-m", "ops.cli"]
    environ = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environ |= {
        "AWS_PROFILE": "nobody",
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
    }
    return subprocess.run(
        [*argv, *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_chat_export_and_replay_find_the_running_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, home = tmp_path / "state", tmp_path / "home"
    with LocalStage(prefix="found", state_dir=state) as stage:
        recorded = json.loads((state / ENDPOINTS_FILE).read_text())
        assert recorded["pid"] == os.getpid()
        assert recorded["tables"]["events"] == "found-events"
        assert recorded["aws"]["AWS_ENDPOINT_URL_DYNAMODB"] != recorded["aws"]["AWS_ENDPOINT_URL"]

        room = api(stage, "alice", "POST", "/rooms", {"name": "Found", "members": ["bob"]})
        api(stage, "bob", "POST", f"/rooms/{room['room_id']}/messages", {"text": "hello"})
        history = f"/rooms/{room['room_id']}/messages"
        deadline = time.monotonic() + 10  # the projector follows the stream
        while not api(stage, "alice", "GET", history)["messages"]:
            assert time.monotonic() < deadline, "the message was never projected"
            time.sleep(0.1)

        exported = chat("export", "--local", "--state", str(state), home=home)
        assert exported.returncode == 0, exported.stderr
        envelopes = [decode_envelope(line.encode()) for line in exported.stdout.splitlines()]
        assert [(e.stream, e.version) for e in envelopes] == sorted(
            (e.stream, e.version) for e in envelopes
        )
        in_room = [e for e in envelopes if e.stream == f"room#{room['room_id']}"]
        assert in_room[0].type == "room.created"
        assert any(getattr(e.data, "text", None) == "hello" for e in in_room)
        assert exported.stderr == f"exported {len(envelopes)} events from found-events\n"

        checked = chat("replay", "--local", "--state", str(state), "--dry-run", home=home)
        assert checked.returncode == 0, checked.stdout + checked.stderr  # 0: no drift
        assert "found-views" in checked.stdout

        # Tables named on the command line still win over the stage's.
        assert main(["export", "--local", "--state", str(state), "--prefix", "nosuch"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("chat: ") and "ResourceNotFoundException" in err
        assert err.count("\n") == 1

    assert not (state / ENDPOINTS_FILE).exists()
    stopped = chat("export", "--local", "--state", str(state), home=home)
    assert stopped.returncode == 2
    assert (
        stopped.stderr == f"chat: no local stage is running in {state}: start it with `make dev`\n"
    )
    assert stopped.stdout == ""

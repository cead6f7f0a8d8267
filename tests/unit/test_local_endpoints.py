"""The file by which `chat --local` finds a running local stage: written whole, read back, and
refused when no stage is behind it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.endpoints import (
    ENDPOINTS_FILE,
    Endpoints,
    NoLocalStage,
    aws_variables,
    find,
    record,
    remove,
)
from local.moto_process import free_port
from ops.cli import main

REFUSAL = "no local stage is running in {}: start it with `make dev`"


@pytest.fixture
def listening() -> Iterator[str]:
    """An endpoint that accepts connections, as a running moto server does."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def stage_at(url: str, pid: int | None = None) -> Endpoints:
    return Endpoints(
        pid=os.getpid() if pid is None else pid,
        prefix="chat-local",
        tables={"events": "chat-local-events", "views": "chat-local-views"},
        aws={
            "AWS_ENDPOINT_URL": url,
            "AWS_ENDPOINT_URL_DYNAMODB": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
        gateway="http://127.0.0.1:8000",
    )


def a_dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    return gone.pid


def test_what_a_stage_records_is_what_chat_finds(tmp_path: Path, listening: str) -> None:
    recorded = stage_at(listening)

    path = record(tmp_path / "state", recorded)

    assert path == tmp_path / "state" / ENDPOINTS_FILE
    assert [p.name for p in path.parent.iterdir()] == [ENDPOINTS_FILE]  # no temporary file left
    assert json.loads(path.read_text())["version"] == 1
    found = find(tmp_path / "state")
    assert found == recorded
    assert found.region == "us-east-1"


def test_recording_again_replaces_the_file_whole(tmp_path: Path, listening: str) -> None:
    record(tmp_path, stage_at("http://127.0.0.1:1"))
    record(tmp_path, stage_at(listening))

    assert find(tmp_path).aws["AWS_ENDPOINT_URL"] == listening
    assert [p.name for p in tmp_path.iterdir()] == [ENDPOINTS_FILE]


def test_the_stage_records_its_endpoints_region_and_credentials_only() -> None:
    environ = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:2",
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": "http://127.0.0.1:2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_PROFILE": "someone",
        "EVENTS_TABLE": "chat-local-events",
        "HOME": "/root",
    }

    assert aws_variables(environ) == {
        name: value
        for name, value in environ.items()
        if name not in {"AWS_PROFILE", "EVENTS_TABLE", "HOME"}
    }


def test_no_file_means_no_stage(tmp_path: Path) -> None:
    with pytest.raises(NoLocalStage) as refused:
        find(tmp_path)
    assert str(refused.value) == REFUSAL.format(tmp_path)


def test_a_file_left_by_a_killed_stage_is_refused(tmp_path: Path, listening: str) -> None:
    dead = a_dead_pid()
    record(tmp_path, stage_at(listening, pid=dead))

    with pytest.raises(NoLocalStage) as refused:
        find(tmp_path)
    assert str(refused.value).startswith(REFUSAL.format(tmp_path))
    assert f"pid {dead}" in str(refused.value)


def test_a_live_pid_whose_endpoints_do_not_answer_is_refused(tmp_path: Path) -> None:
    silent = f"http://127.0.0.1:{free_port()}"  # a reused pid, or a stage going down
    record(tmp_path, stage_at(silent))

    with pytest.raises(NoLocalStage) as refused:
        find(tmp_path)
    assert str(refused.value).startswith(REFUSAL.format(tmp_path))
    assert silent in str(refused.value)


def test_a_file_that_is_no_stage_record_is_refused(tmp_path: Path) -> None:
    (tmp_path / ENDPOINTS_FILE).write_text('{"version": 1, "pid": "no"}')

    with pytest.raises(NoLocalStage) as refused:
        find(tmp_path)
    assert str(refused.value).startswith(REFUSAL.format(tmp_path))


def test_a_stage_removes_only_its_own_file(tmp_path: Path, listening: str) -> None:
    record(tmp_path, stage_at(listening, pid=os.getpid() + 1))
    remove(tmp_path)  # a second stage that failed to start on the same folder
    assert (tmp_path / ENDPOINTS_FILE).exists()

    record(tmp_path, stage_at(listening))
    remove(tmp_path)
    assert not (tmp_path / ENDPOINTS_FILE).exists()
    remove(tmp_path)  # already gone: nothing to do


@pytest.mark.parametrize("command", [["export"], ["replay", "--dry-run"]])
def test_chat_local_refuses_in_one_line_when_no_stage_runs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main([*command, "--local"]) == 2

    captured = capsys.readouterr()
    assert captured.err == f"chat: {REFUSAL.format('.local')}\n"
    assert captured.out == ""


def test_chat_local_refuses_a_stale_file_in_the_folder_given(
    tmp_path: Path, listening: str, capsys: pytest.CaptureFixture[str]
) -> None:
    record(tmp_path, stage_at(listening, pid=a_dead_pid()))

    assert main(["export", "--state", str(tmp_path)]) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"chat: {REFUSAL.format(tmp_path)}") and err.count("\n") == 1

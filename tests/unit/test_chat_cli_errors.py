"""`chat` without credentials, region or a reachable endpoint: one line on stderr, exit 2, no
traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.moto_process import ROOT, free_port
from ops.cli import main

EXPORT = ["export", "--events-table", "chat-events", "--views-table", "chat-views"]


def no_aws(tmp_path: Path) -> dict[str, str]:
    """An environment with no AWS settings at all: no variables, no files, no instance metadata."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environ |= {
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return environ


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in no_aws(tmp_path).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    return monkeypatch


def test_without_a_region_chat_says_so_in_one_line(
    bare: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", "--prefix", "chat-dev", "--dry-run"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("chat: no AWS region: set AWS_DEFAULT_REGION") and err.count("\n") == 1
    assert "--local" in err


def test_without_credentials_chat_says_so_in_one_line(
    bare: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bare.setenv("AWS_DEFAULT_REGION", "eu-west-1")

    assert main(EXPORT) == 2

    captured = capsys.readouterr()
    assert captured.err.startswith("chat: no AWS credentials: set AWS_PROFILE")
    assert captured.err.count("\n") == 1 and captured.out == ""


def test_an_endpoint_that_does_not_answer_is_one_line(
    bare: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    silent = f"http://127.0.0.1:{free_port()}"
    bare.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    bare.setenv("AWS_ACCESS_KEY_ID", "testing")
    bare.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bare.setenv("AWS_ENDPOINT_URL", silent)

    assert main(EXPORT) == 2

    err = capsys.readouterr().err
    assert err == f"chat: cannot reach {silent}/: check AWS_ENDPOINT_URL and network\n"


def test_the_chat_command_prints_no_traceback(tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "ops.cli", *EXPORT],
        cwd=ROOT,
        env=no_aws(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert ran.returncode == 2
    assert ran.stdout == ""
    assert ran.stderr.startswith("chat: no AWS region") and ran.stderr.count("\n") == 1, ran.stderr

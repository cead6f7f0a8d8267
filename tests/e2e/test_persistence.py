"""The local stage keeps the log and the users across a restart, and across a kill, and rebuilds
the views."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import requests

from local.chat_client import sign_in
from local.moto_process import ROOT, free_port
from local.stage import DEMO_USERS, LocalStage
from tests.e2e.support import api

DAVE = "Dave-password-1"


def test_the_log_and_the_users_survive_a_restart(tmp_path: Path) -> None:
    with LocalStage(prefix="kept", state_dir=tmp_path) as first:
        cognito = boto3.client(
            "cognito-idp",
            endpoint_url=first.config["cognitoEndpoint"],
            region_name=first.config["region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        signed_up = cognito.sign_up(ClientId=first.client_id, Username="dave", Password=DAVE)
        assert signed_up["UserConfirmed"] is True  # a local sign-up is confirmed at once
        first.sign_in("dave", DAVE)
        kept = {"name": "Kept", "members": ["dave"]}
        room = api(first, "alice", "POST", "/rooms", kept)["room_id"]
        message = {"text": "still here"}
        api(first, "dave", "POST", f"/rooms/{room}/messages", message, password=DAVE)

    with LocalStage(prefix="kept", state_dir=tmp_path) as second:
        assert second.restored == 2
        inbox = api(second, "dave", "GET", "/rooms", password=DAVE)["rooms"]
        assert [(r["room_id"], r["last_message"]["preview"]) for r in inbox] == [
            (room, "still here")
        ]
        again = api(second, "alice", "POST", f"/rooms/{room}/messages", {"text": "and again"})
        assert again["seq"] == 3


def test_a_stage_killed_without_warning_keeps_what_it_had_written(tmp_path: Path) -> None:
    port = free_port()
    killed = subprocess.Popen(
        [sys.executable, "-m", "local.stage", "--port", str(port), "--state", str(tmp_path)],
        cwd=ROOT,
        start_new_session=True,  # its moto servers go down with it
        stdout=subprocess.DEVNULL,
    )
    try:
        config = wait_for_config(f"http://127.0.0.1:{port}/config.json", killed)
        headers = {"Authorization": f"Bearer {sign_in(config, 'alice', DEMO_USERS['alice'])}"}
        room = requests.post(
            f"{config['apiUrl']}/rooms", json={"name": "Abrupt"}, headers=headers, timeout=10
        ).json()["room_id"]
        sent = requests.post(
            f"{config['apiUrl']}/rooms/{room}/messages",
            json={"text": "before the kill"},
            headers=headers,
            timeout=10,
        )
        assert sent.status_code == 201, sent.text
        time.sleep(1)  # the journal follows the table's stream within a fraction of a second
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(timeout=10)

    with LocalStage(prefix="after-kill", state_dir=tmp_path) as second:
        history = api(second, "alice", "GET", f"/rooms/{room}/messages")["messages"]
        assert [m["text"] for m in history] == ["before the kill"]


def wait_for_config(url: str, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the stage exited"
        try:
            return dict(requests.get(url, timeout=1).json())
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError("the stage did not start")

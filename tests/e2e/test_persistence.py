"""The local stage keeps the log and the users across a restart, and across a kill, and rebuilds
the views. A send it acknowledged survives a SIGKILL of all its processes at any instant."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from adapters.aws import client
from adapters.event_codec import from_event_item, is_event_item
from domain.events import MessageCreated
from domain.ids import room_stream
from local.chat_client import cognito, sign_in
from local.persistence import USERS_FILE
from local.stage import DEMO_USERS, LocalStage
from local.stage_process import kill_all, stage_process
from tests.e2e.support import api

DAVE = "Dave-password-1"


def test_the_log_and_the_users_survive_a_restart(tmp_path: Path) -> None:
    with LocalStage(prefix="kept", state_dir=tmp_path) as first:
        signed_up = cognito(first.config).sign_up(
            ClientId=first.client_id, Username="dave", Password=DAVE
        )
        assert signed_up["UserConfirmed"] is True  # a local sign-up is confirmed at once
        first.sign_in("dave", DAVE)
        kept = {"name": "Kept", "members": ["dave"]}
        room = api(first, "alice", "POST", "/rooms", kept)["room_id"]
        message = {"text": "still here"}
        api(first, "dave", "POST", f"/rooms/{room}/messages", message, password=DAVE)

    assert DAVE not in (tmp_path / USERS_FILE).read_text()  # kept hashed, never in the clear
    with LocalStage(prefix="kept", state_dir=tmp_path) as second:
        assert second.restored == 2
        with pytest.raises(ClientError, match="NotAuthorized"):
            second.sign_in("dave", "Not-his-password-1")
        inbox = api(second, "dave", "GET", "/rooms", password=DAVE)["rooms"]
        assert [(r["room_id"], r["last_message"]["preview"]) for r in inbox] == [
            (room, "still here")
        ]
        again = api(second, "alice", "POST", f"/rooms/{room}/messages", {"text": "and again"})
        assert again["seq"] == 3


def test_a_stage_killed_without_warning_keeps_what_it_had_written(tmp_path: Path) -> None:
    with stage_process(tmp_path) as (config, killed):
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
        kill_all(killed)  # at once: an acknowledged write is already durable

    with LocalStage(prefix="after-kill", state_dir=tmp_path) as second:
        history = api(second, "alice", "GET", f"/rooms/{room}/messages")["messages"]
        assert [m["text"] for m in history] == ["before the kill"]


def test_a_stage_killed_on_its_own_leaves_no_server_holding_its_folder(tmp_path: Path) -> None:
    with stage_process(tmp_path) as (_, stage):
        servers = [
            int(pid)
            for children in Path(f"/proc/{stage.pid}/task").glob("*/children")
            for pid in children.read_text().split()
        ]
        assert len(servers) == 2  # moto, and moto for DynamoDB
        os.kill(stage.pid, signal.SIGKILL)  # the stage alone, not its process group
        stage.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(Path(f"/proc/{pid}").exists() for pid in servers):
            assert time.monotonic() < deadline, "an orphaned moto server kept running"
            time.sleep(0.1)

    with stage_process(tmp_path) as (config, _):  # the journal is free for the next stage
        assert config["apiUrl"].startswith("http://127.0.0.1:")


WRITERS = (("alice", 0), ("bob", 0), ("carol", 1), ("alice", 1))  # (user, room) per writer
KILLS = 3


def test_every_acknowledged_send_survives_sigkills_of_the_whole_stage_mid_burst(
    tmp_path: Path,
) -> None:
    """Four writers post to two rooms over HTTP; the stage (gateway, functions, both moto
    servers) is SIGKILLed at a random instant of each burst and started again on the same folder.
    Every acknowledged message is in the log once, at the seq it was acknowledged with, and each
    room's log is gap-free. Sends cut off by a kill are unknown: in the log at most once."""
    rooms: list[str] = []
    acknowledged: dict[str, int] = {}  # text -> the seq it was acknowledged with
    for kill in range(KILLS):
        with stage_process(tmp_path) as (config, stage):
            tokens = {user: sign_in(config, user, DEMO_USERS[user]) for user in DEMO_USERS}
            for name in ("one", "two")[len(rooms) :]:
                body = {"name": name, "members": ["bob", "carol"]}
                rooms.append(post(config, tokens["alice"], "/rooms", body).json()["room_id"])
            acknowledged |= burst_until_killed(stage, config, tokens, rooms, f"kill {kill}")

    with LocalStage(prefix="after-kills", state_dir=tmp_path) as last:
        texts: Counter[str] = Counter()
        seq_of: dict[str, int] = {}
        for room in rooms:
            log = sorted(
                (from_event_item(item) for item in room_log(last.events_table, room)),
                key=lambda event: event.version,
            )
            assert [event.version for event in log] == list(range(1, len(log) + 1))
            for event in log:
                if isinstance(event.data, MessageCreated):
                    texts[event.data.text] += 1
                    seq_of[event.data.text] = event.version
            after = api(last, "alice", "POST", f"/rooms/{room}/messages", {"text": "after"})
            assert after["seq"] == len(log) + 1  # the room's head was kept with its events
        assert {text: texts[text] for text in acknowledged} == dict.fromkeys(acknowledged, 1)
        assert {text: seq_of[text] for text in acknowledged} == acknowledged
        assert max(texts.values()) == 1  # and no unanswered send twice


def burst_until_killed(
    stage: subprocess.Popen[bytes],
    config: dict[str, Any],
    tokens: dict[str, str],
    rooms: list[str],
    label: str,
) -> dict[str, int]:
    """The writers post until the stage dies, which it does at a random instant once they are
    going; returns the sends acknowledged (text -> seq)."""
    acknowledged: dict[str, int] = {}

    def writer(number: int, user: str, room: str) -> None:
        with requests.Session() as session:
            for n in range(100_000):
                text = f"{label} writer {number} message {n}"
                try:
                    sent = post(
                        config, tokens[user], f"/rooms/{room}/messages", {"text": text}, session
                    )
                except requests.RequestException:  # the stage is gone: never answered
                    return
                assert sent.status_code == 201, sent.text
                acknowledged[text] = sent.json()["seq"]

    threads = [
        threading.Thread(target=writer, args=(number, user, rooms[room]), daemon=True)
        for number, (user, room) in enumerate(WRITERS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(random.uniform(0, 0.4))  # a random instant, every writer with a send in flight
    kill_all(stage)
    for thread in threads:
        thread.join(timeout=15)
    assert len(acknowledged) >= 8, "the burst never got going"
    return dict(acknowledged)


def post(
    config: dict[str, Any],
    token: str,
    path: str,
    body: dict[str, Any],
    session: Any = requests,
) -> requests.Response:
    return session.post(  # type: ignore[no-any-return]
        f"{config['apiUrl']}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def room_log(events_table: str, room: str) -> list[dict[str, Any]]:
    pages = (
        client("dynamodb")
        .get_paginator("query")
        .paginate(
            TableName=events_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": room_stream(room)}},
            ConsistentRead=True,
        )
    )
    return [item for page in pages for item in page["Items"] if is_event_item(item)]

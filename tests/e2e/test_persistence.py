"""The local stage keeps the log and the users across a restart, and rebuilds the views."""

from __future__ import annotations

from pathlib import Path

import boto3

from local.stage import LocalStage
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

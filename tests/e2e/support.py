"""What the end-to-end tests share: signing in and calling the local stage's HTTP API."""

from __future__ import annotations

import time
from typing import Any

import requests

from local.stage import LocalStage

RATE_LIMITED_RETRIES = 5


def token(stage: LocalStage, user: str, password: str | None = None) -> str:
    return stage.sign_in(user, password)["IdToken"]


def api(
    stage: LocalStage,
    user: str,
    method: str,
    path: str,
    body: Any = None,
    password: str | None = None,
) -> Any:
    """Call `/api{path}` as `user` (a demo user unless a password is given); it must succeed.
    Over a rate limit, it waits as told and asks again, as the web client does."""
    for _ in range(RATE_LIMITED_RETRIES):
        response = requests.request(
            method,
            f"{stage.base}/api{path}",
            headers={"Authorization": f"Bearer {token(stage, user, password)}"},
            json=body,
            timeout=10,
        )
        if response.status_code != 429:
            break
        time.sleep(int(response.headers["Retry-After"]))
    assert response.status_code < 300, response.text
    return response.json()


def upload_form(stage: LocalStage, room: str, size: int) -> dict[str, Any]:
    """What alice is given to upload a PNG of `size` bytes to `room`: the URL and signed fields."""
    body = {"name": "cat.png", "content_type": "image/png", "size": size}
    return dict(api(stage, "alice", "POST", f"/rooms/{room}/uploads", body))

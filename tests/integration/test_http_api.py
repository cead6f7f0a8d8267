"""The HTTP API function, given events of the exact API Gateway v2 shape, with the caller's
Cognito token (minted as the test pool signs) in `Authorization`."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from starlette.applications import Starlette
from starlette.routing import Route

from adapters.event_store import DynamoEventStore
from adapters.rate_limits import DynamoRateLimiter
from adapters.view_store import DynamoViewStore
from application.service import new_id
from domain.ids import dm_room_id, room_stream
from domain.projection import project
from domain.rate_limits import MESSAGES
from functions.http_api import handler
from local import s3
from local.provision import Stage
from tests.integration.http_calls import (
    POOL,
    SAMPLE,
    built,
    call,
    event_as,
    respond,
)
from tests.integration.pools import minted
from tests.integration.support import FakeContext
from tests.unit.local_support import serving

pytestmark = pytest.mark.usefixtures("signed_http")


def project_all(events: DynamoEventStore, views: DynamoViewStore) -> None:
    for envelope in sorted(events.scan(), key=lambda e: (e.stream, e.version)):
        views.apply(project(envelope))


def test_a_conversation_through_the_api(
    event_store: DynamoEventStore, view_store: DynamoViewStore
) -> None:
    assert call("GET", "/me") == (200, {"user_id": "alice"})
    status, created = call("POST", "/rooms", body={"name": "General", "members": ["bob"]})
    assert status == 201 and created["seq"] == 1
    room = created["room_id"]

    status, sent = call("POST", f"/rooms/{room}/messages", "bob", {"text": "hi", "client_id": "m1"})
    assert status == 201 and sent["seq"] == 2 and sent["events"][0]["data"]["text"] == "hi"
    again = call("POST", f"/rooms/{room}/messages", "bob", {"text": "hi", "client_id": "m1"})
    assert again[0] == 200 and again[1]["duplicate"] and again[1]["seq"] == 2

    assert call("PATCH", f"/rooms/{room}/messages/2", "bob", {"text": "hello"})[0] == 200
    project_all(event_store, view_store)

    status, inbox = call("GET", "/rooms")
    assert status == 200 and inbox["rooms"][0]["unread"] == 1
    status, history = call("GET", f"/rooms/{room}/messages", query="limit=10")
    assert [m["text"] for m in history["messages"]] == ["hello"]
    status, caught_up = call("GET", f"/rooms/{room}/events", query="after=1")
    assert [e["type"] for e in caught_up["events"]] == ["message.created", "message.updated"]
    assert call("POST", f"/rooms/{room}/read", body={"seq": 3})[0] == 200
    status, page = call("GET", f"/rooms/{room}")
    assert status == 200 and page["members"] == ["alice", "bob"] and page["seq"] == 3


def test_opening_a_dm_twice_gives_the_same_room() -> None:
    first = call("POST", "/dms", body={"peer": "bob"})
    second = call("POST", "/dms", "bob", {"peer": "alice"})

    assert first[0] == 201 and second[0] == 200
    assert first[1]["room_id"] == second[1]["room_id"]


@pytest.mark.parametrize(
    ("method", "path", "user", "body", "status", "code"),
    [
        ("GET", "/me", None, None, 401, "unauthorized"),
        ("POST", "/rooms", "alice", "{not json", 400, "invalid_json"),
        ("POST", "/rooms", "alice", {"title": "no name"}, 400, "invalid"),
        ("POST", "/rooms", "alice", {"name": "x" * 101}, 413, "too_large"),
        ("GET", "/rooms/nowhere/messages", "alice", None, 404, "room_not_found"),
        ("POST", "/rooms/nowhere/messages", "alice", {"text": "hi"}, 404, "room_not_found"),
        ("PATCH", "/rooms/r/messages/abc", "alice", {"text": "x"}, 400, "invalid"),
        ("GET", "/nothing/here", "alice", None, 404, "not_found"),
        ("PUT", "/rooms", "alice", None, 404, "not_found"),
        ("GET", "/nothing/here", None, None, 401, "unauthorized"),
    ],
)
def test_bad_requests_get_a_clear_error(
    method: str, path: str, user: str | None, body: Any, status: int, code: str
) -> None:
    got_status, got = call(method, path, user, body)

    assert got_status == status
    assert got["error"]["code"] == code and got["error"]["message"]


def test_outsiders_can_neither_read_nor_write_a_room_nor_tell_that_it_exists() -> None:
    room = call("POST", "/rooms", body={"name": "Private"})[1]["room_id"]
    call("POST", "/dms", body={"peer": "bob"})
    pairs = {room: new_id(), dm_room_id("alice", "bob"): dm_room_id("alice", "carol")}

    for there, nowhere in pairs.items():
        for method, path, body in [
            ("GET", "/rooms/{}", None),
            ("GET", "/rooms/{}/messages", None),
            ("GET", "/rooms/{}/events", None),
            ("POST", "/rooms/{}/messages", {"text": "let me in"}),
            ("POST", "/rooms/{}/members", {"user_id": "mallory"}),
            ("POST", "/rooms/{}/read", {"seq": 1}),
        ]:
            status, reply = call(method, path.format(there), "mallory", body)
            assert (status, reply["error"]["code"]) == (404, "room_not_found"), (method, path)
            other_status, other = call(method, path.format(nowhere), "mallory", body)
            assert other_status == status
            assert other["error"]["message"].replace(nowhere, there) == reply["error"]["message"]


@pytest.fixture
def upload_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """S3's browser upload, served as the local stage serves it (local/s3.py): moto's own port
    takes only signed requests, as AWS's S3 takes them."""
    app = Starlette(routes=[Route("/s3/{bucket}", s3.upload, methods=["POST"])])
    with serving(app) as host:
        monkeypatch.setenv("FILES_UPLOAD_URL", f"http://{host}/s3")
        yield


@pytest.mark.usefixtures("upload_endpoint")
def test_a_member_uploads_a_picture_shares_it_and_another_member_downloads_it() -> None:
    room = call("POST", "/rooms", body={"name": "Photos", "members": ["bob"]})[1]["room_id"]
    picture = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10

    status, form = call(
        "POST",
        f"/rooms/{room}/uploads",
        body={"name": "cat.png", "content_type": "image/png", "size": len(picture)},
    )
    assert status == 201
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    assert ["content-length-range", 1, len(picture)] in policy["conditions"]
    assert {"Content-Type": "image/png"} in policy["conditions"]
    assert {"key": form["attachment"]["key"]} in policy["conditions"]
    assert form["attachment"]["key"].startswith(f"rooms/{room}/")
    uploaded = requests.post(
        form["url"], data=form["fields"], files={"file": ("cat.png", picture)}, timeout=10
    )
    assert uploaded.status_code in (200, 201, 204)

    status, sent = call(
        "POST",
        f"/rooms/{room}/messages",
        body={"text": "look", "attachments": [form["attachment"]]},
    )
    assert status == 201
    assert sent["events"][0]["data"]["attachments"] == [form["attachment"]]
    file_id = form["attachment"]["key"].rsplit("/", 1)[1]
    status, redirect = download(room, file_id, "bob")
    assert status == 302
    assert requests.get(redirect, timeout=10).content == picture
    # A player that streams the file asks for the URL itself.
    status, given = download(room, file_id, "bob", as_url=True)
    assert status == 200 and requests.get(given, timeout=10).content == picture


def download(room: str, file_id: str, user: str, as_url: bool = False) -> tuple[int, str]:
    event = copy.deepcopy(SAMPLE)
    path = f"/rooms/{room}/files/{file_id}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = "GET"
    event["rawQueryString"], event["queryStringParameters"], event["body"] = "", None, None
    if as_url:
        event["rawQueryString"], event["queryStringParameters"] = "as=url", {"as": "url"}
    response = handler.handle(event_as(event, user), FakeContext(), built())  # type: ignore[arg-type]
    if as_url:
        return response["statusCode"], json.loads(response["body"])["url"]
    return response["statusCode"], response.get("headers", {}).get("Location", "")


@pytest.mark.parametrize(
    ("upload", "status", "code"),
    [
        (
            {"name": "tool.exe", "content_type": "application/x-msdownload", "size": 10},
            400,
            "invalid",
        ),
        ({"name": "huge.mp4", "content_type": "video/mp4", "size": 10**12}, 413, "too_large"),
        ({"name": "empty.png", "content_type": "image/png", "size": 0}, 400, "invalid"),
        ({"name": "", "content_type": "image/png", "size": 10}, 400, "invalid"),
    ],
)
def test_an_upload_outside_the_limits_is_refused_before_any_form_is_issued(
    upload: dict[str, Any], status: int, code: str
) -> None:
    room = call("POST", "/rooms", body={"name": "Files"})[1]["room_id"]

    got_status, got = call("POST", f"/rooms/{room}/uploads", body=upload)

    assert (got_status, got["error"]["code"]) == (status, code)


def test_outsiders_can_neither_upload_to_nor_download_from_a_room() -> None:
    room = call("POST", "/rooms", body={"name": "Private"})[1]["room_id"]
    upload = {"name": "a.png", "content_type": "image/png", "size": 3}

    assert call("POST", f"/rooms/{room}/uploads", "mallory", upload)[0] == 404
    assert download(room, "anything", "mallory") == (404, "")


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        ("Basic YWxpY2U6cGFzcw==", "Authorization: Bearer"),
        ("Bearer ", "Authorization: Bearer"),
        ("Bearer not.a.token", "not valid"),
        ("forged", "Authorization: Bearer"),
    ],
)
def test_a_request_without_a_valid_bearer_token_is_refused_in_the_apis_shape_and_writes_nothing(
    event_store: DynamoEventStore, authorization: str, message: str
) -> None:
    event = event_as(copy.deepcopy(SAMPLE), None)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/rooms"
    event["requestContext"]["http"]["method"] = "POST"
    event["body"] = json.dumps({"name": "Sneaky"})
    event["headers"]["authorization"] = authorization

    answer = handler.handle(event, FakeContext(), built())  # type: ignore[arg-type]

    error = json.loads(answer["body"])["error"]
    assert (answer["statusCode"], error["code"]) == (401, "unauthorized")
    assert message in error["message"]
    assert list(event_store.scan()) == []


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": 1, "iat": 0},
        {"aud": "another-app"},
        {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"},
    ],
    ids=["expired", "another-app", "another-pool"],
)
def test_a_token_the_pool_did_not_issue_to_this_app_or_that_expired_is_refused(
    claims: dict[str, Any],
) -> None:
    event = event_as(copy.deepcopy(SAMPLE), None)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/me"
    event["requestContext"]["http"]["method"] = "GET"
    event["headers"]["authorization"] = f"Bearer {minted(POOL[0], **claims)}"

    answer = handler.handle(event, FakeContext(), built())  # type: ignore[arg-type]

    assert answer["statusCode"] == 401
    assert json.loads(answer["body"])["error"]["code"] == "unauthorized"


def test_a_cors_preflight_is_answered_without_a_token_on_any_path() -> None:
    for path in ("/rooms", "/rooms/r1/messages/2", "/nothing/here"):
        answer = respond("OPTIONS", path, user=None)

        assert (answer["statusCode"], answer["body"]) == (204, ""), path


def test_the_openapi_document_is_served_without_a_token() -> None:
    status, doc = call("GET", "/openapi.json", user=None)

    assert status == 200 and doc["openapi"].startswith("3.")
    assert "/rooms/{room_id}/messages" in doc["paths"]


def test_a_user_sending_faster_than_the_limit_is_told_when_to_retry_and_nothing_is_written(
    stage: Stage, event_store: DynamoEventStore
) -> None:
    room = call("POST", "/rooms", body={"name": "Flood", "members": ["bob"]})[1]["room_id"]
    at_one_instant = DynamoRateLimiter(stage.tables["rate-limits"], clock=lambda: 10**12)
    deps = dataclasses.replace(built(), limits=at_one_instant)
    answers = [
        respond(
            "POST",
            f"/rooms/{room}/messages",
            body={"text": f"m{i}", "client_id": f"m{i}"},
            deps=deps,
        )
        for i in range(MESSAGES.burst + 3)
    ]

    assert [a["statusCode"] for a in answers] == [201] * MESSAGES.burst + [429] * 3
    error = json.loads(answers[-1]["body"])["error"]
    assert error["code"] == "rate_limited"
    assert error["retry_after_ms"] == MESSAGES.interval_ms and error["limit"] == MESSAGES.name
    assert answers[-1]["headers"]["Retry-After"] == "1"
    sent = event_store.read_stream(room_stream(room))
    assert len(sent) == 1 + MESSAGES.burst  # the room's creation and the admitted sends only
    bob = respond("POST", f"/rooms/{room}/messages", "bob", {"text": "me too"}, deps=deps)
    assert bob["statusCode"] == 201

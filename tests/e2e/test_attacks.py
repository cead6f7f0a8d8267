"""Attacks on a fresh local stage, as someone on this machine would make them: each was found to
get through once, and each test fails if its hole opens again. (A token signed with the key moto
ships is refused in test_realtime.py, beside the other bad tokens.)"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from domain.rate_limits import CONNECTIONS, FRAMES, MESSAGES
from local.stage import LocalStage
from tests.e2e.support import api, token, upload_form

COGNITO = "AWSCognitoIdentityProviderService."


@pytest.fixture(scope="module")
def stage() -> Iterator[LocalStage]:
    with LocalStage(prefix="attacks") as running:
        yield running


def test_a_smuggled_second_cognito_target_cannot_set_someone_elses_password(
    stage: LocalStage,
) -> None:
    body = json.dumps(
        {
            "UserPoolId": stage.pool_id,
            "Username": "bob",
            "Password": "Taken-over-1",
            "Permanent": True,
        }
    )
    connection = http.client.HTTPConnection(urlsplit(stage.base).netloc, timeout=10)
    connection.putrequest("POST", "/cognito")
    connection.putheader("X-Amz-Target", COGNITO + "InitiateAuth")  # the one a check would read
    connection.putheader("X-Amz-Target", COGNITO + "AdminSetUserPassword")
    connection.putheader("Content-Type", "application/x-amz-json-1.1")
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body.encode())

    assert connection.getresponse().status == 400
    with pytest.raises(Exception, match="NotAuthorized"):
        stage.sign_in("bob", "Taken-over-1")
    assert stage.sign_in("bob")["IdToken"]


def next_answer(ws: ClientConnection) -> dict[str, object]:
    """The next frame that answers this socket, past room events of earlier tests that reach it."""
    while True:
        frame: dict[str, object] = json.loads(ws.recv(timeout=10))
        if frame.get("type") in ("error", "pong"):
            return frame


def tampered_upload(stage: LocalStage, extra: list[tuple[str, str]]) -> requests.Response:
    room = api(stage, "alice", "POST", "/rooms", {"name": "Pictures"})["room_id"]
    form = upload_form(stage, room, 10)
    fields = [*form["fields"].items(), *extra]
    return requests.post(form["url"], data=fields, files={"file": b"<script>!"}, timeout=10)


def test_a_second_content_type_cannot_store_a_page_where_an_image_was_signed_for(
    stage: LocalStage,
) -> None:
    posted = tampered_upload(stage, [("content-type", "text/html")])

    assert posted.status_code == 400 and "<Code>InvalidArgument</Code>" in posted.text


def test_a_second_key_cannot_plant_a_file_in_a_room_the_uploader_is_not_in(
    stage: LocalStage,
) -> None:
    elsewhere = api(stage, "bob", "POST", "/rooms", {"name": "Bob's"})["room_id"]

    posted = tampered_upload(stage, [("Key", f"rooms/{elsewhere}/planted")])

    assert posted.status_code == 400 and "<Code>InvalidArgument</Code>" in posted.text


def test_a_policy_signed_with_motos_well_known_secret_is_refused(stage: LocalStage) -> None:
    room = api(stage, "alice", "POST", "/rooms", {"name": "Forged"})["room_id"]
    bucket = upload_form(stage, room, 10)["url"].rsplit("/", 1)[1]
    forger = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4"),
    )
    form = forger.generate_presigned_post(bucket, f"rooms/{room}/mine", ExpiresIn=300)

    posted = requests.post(
        f"{stage.base}/s3/{bucket}", data=form["fields"], files={"file": b"x"}, timeout=10
    )

    assert posted.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in posted.text


def test_a_frame_nested_too_deep_is_answered_with_an_error_and_the_socket_stays_open(
    stage: LocalStage,
) -> None:
    deep = '{"action": "send", "room_id": "r", "text": ' + "[" * 10_000 + "]" * 10_000 + "}"
    with connect(f"{stage.config['wsUrl']}?token={token(stage, 'alice')}", open_timeout=10) as ws:
        ws.send(deep)
        answer = next_answer(ws)
        ws.send(json.dumps({"action": "ping"}))
        after = next_answer(ws)

    assert (answer["type"], answer["code"]) == ("error", "bad_frame")
    assert after == {"type": "pong"}


def cognito_call(stage: LocalStage, action: str, body: dict[str, object]) -> requests.Response:
    return requests.post(
        f"{stage.base}/cognito",
        data=json.dumps(body),
        headers={"X-Amz-Target": COGNITO + action, "Content-Type": "application/x-amz-json-1.1"},
        timeout=10,
    )


def test_nobody_signs_in_as_someone_else_by_an_srp_proof_the_pool_never_checks(
    stage: LocalStage,
) -> None:
    started = cognito_call(
        stage,
        "InitiateAuth",
        {
            "AuthFlow": "USER_SRP_AUTH",
            "ClientId": stage.client_id,
            "AuthParameters": {"USERNAME": "bob", "SRP_A": "1" * 256},
        },
    )
    answered = cognito_call(
        stage,
        "RespondToAuthChallenge",
        {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ClientId": stage.client_id,
            "ChallengeResponses": {"USERNAME": "bob", "PASSWORD_CLAIM_SIGNATURE": "x"},
        },
    )

    assert started.status_code == answered.status_code == 400
    assert "AuthenticationResult" not in started.text + answered.text


def test_nobody_resets_someone_elses_password_with_a_made_up_code(stage: LocalStage) -> None:
    reset = cognito_call(
        stage,
        "ConfirmForgotPassword",
        {
            "ClientId": stage.client_id,
            "Username": "bob",
            "ConfirmationCode": "123456",
            "Password": "Taken-over-2",
        },
    )

    assert reset.status_code == 400
    assert stage.sign_in("bob")["IdToken"]


def test_motos_internal_api_with_every_users_password_answers_nobody(stage: LocalStage) -> None:
    moto = os.environ["AWS_ENDPOINT_URL"]

    assert requests.get(f"{moto}/moto-api/data.json", timeout=10).status_code == 403
    assert requests.post(f"{moto}/moto-api/reset", timeout=10).status_code == 403
    assert stage.sign_in("bob")["IdToken"]  # nothing was wiped


def shared_picture(stage: LocalStage) -> str:
    """The presigned URL alice's room hands a member for a picture she shared."""
    room = api(stage, "alice", "POST", "/rooms", {"name": "Shared"})["room_id"]
    form = upload_form(stage, room, 8)
    posted = requests.post(
        form["url"], data=form["fields"], files={"file": b"\x89PNG1234"}, timeout=10
    )
    assert posted.status_code == 204, posted.text
    file_id = form["attachment"]["key"].rsplit("/", 1)[1]
    found = requests.get(
        f"{stage.base}/api/rooms/{room}/files/{file_id}",
        headers={"Authorization": f"Bearer {token(stage, 'alice')}"},
        allow_redirects=False,
        timeout=10,
    )
    assert found.status_code in (302, 303, 307), found.text
    return str(found.headers["location"])


def test_a_download_url_with_its_signature_zeroed_or_its_type_changed_is_refused(
    stage: LocalStage,
) -> None:
    url = shared_picture(stage)
    zeroed = url.split("X-Amz-Signature=")[0] + "X-Amz-Signature=" + "0" * 64

    assert requests.get(url, timeout=10).status_code == 200
    assert requests.get(zeroed, timeout=10).status_code == 403
    assert requests.get(url + "&response-content-type=text/html", timeout=10).status_code == 403


def test_motos_port_answers_no_request_the_stage_did_not_sign(stage: LocalStage) -> None:
    moto, dynamodb = os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    target = {"Content-Type": "application/x-amz-json-1.1"}
    set_password = requests.post(
        moto,
        data=json.dumps({"UserPoolId": stage.pool_id, "Username": "bob", "Password": "Takeover1!"}),
        headers=target | {"X-Amz-Target": COGNITO + "AdminSetUserPassword"},
        timeout=10,
    )
    scan = requests.post(
        dynamodb,
        data=json.dumps({"TableName": "anything"}),
        headers=target | {"X-Amz-Target": "DynamoDB_20120810.Scan"},
        timeout=10,
    )
    forger = boto3.client(
        "s3",
        endpoint_url=moto,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    as_preflight = requests.options(
        moto,
        data=json.dumps({"UserPoolId": stage.pool_id, "Username": "bob", "Password": "Takeover1!"}),
        headers=target
        | {
            "X-Amz-Target": COGNITO + "AdminSetUserPassword",
            "Origin": stage.base,
            "Access-Control-Request-Method": "POST",
        },
        timeout=10,
    )

    assert set_password.status_code == 403 and scan.status_code == 403
    assert as_preflight.status_code == 403
    with pytest.raises(ClientError, match="InvalidClientTokenId"):
        forger.list_buckets()
    assert stage.sign_in("bob")["IdToken"]  # the password did not change


def test_a_flood_of_sends_is_refused_past_the_users_limit_and_others_go_on_sending(
    stage: LocalStage,
) -> None:
    room = api(stage, "carol", "POST", "/rooms", {"name": "Flood", "members": ["bob"]})["room_id"]
    headers = {"Authorization": f"Bearer {token(stage, 'carol')}"}
    began = time.monotonic()
    answers = [
        requests.post(
            f"{stage.base}/api/rooms/{room}/messages",
            json={"text": f"flood {i}", "client_id": f"flood-{i}"},
            headers=headers,
            timeout=10,
        )
        for i in range(3 * MESSAGES.burst)
    ]
    took_s = time.monotonic() - began

    admitted = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code == 429]
    assert len(admitted) + len(refused) == len(answers)
    assert len(admitted) <= MESSAGES.burst + took_s * MESSAGES.per_second + 1
    assert refused and all(int(a.headers["Retry-After"]) >= 1 for a in refused)
    assert {a.json()["error"]["code"] for a in refused} == {"rate_limited"}
    logged = api(stage, "bob", "GET", f"/rooms/{room}/events?after=0")["events"]
    sent = [e for e in logged if e["type"] == "message.created"]
    assert len(sent) == len(admitted)  # a refused send wrote nothing
    api(stage, "bob", "POST", f"/rooms/{room}/messages", {"text": "still here"})


def test_a_flood_of_frames_gets_rate_limited_frames_and_the_socket_stays_open(
    stage: LocalStage,
) -> None:
    with connect(f"{stage.config['wsUrl']}?token={token(stage, 'carol')}", open_timeout=10) as ws:
        began = time.monotonic()
        for _ in range(5 * FRAMES.burst):
            ws.send(json.dumps({"action": "ping"}))
        answers = [next_answer(ws) for _ in range(5 * FRAMES.burst)]
        took_s = time.monotonic() - began
        refused = [a for a in answers if a["type"] == "error"]
        assert refused, f"{len(answers)} pings in {took_s:.1f} s, none refused"
        time.sleep(max(int(str(a["retry_after_ms"])) for a in refused) / 1000)
        ws.send(json.dumps({"action": "ping"}))
        after = next_answer(ws)

    pongs = len(answers) - len(refused)
    assert pongs <= FRAMES.burst + took_s * FRAMES.per_second + 1
    assert refused and {a["code"] for a in refused} == {"rate_limited"}
    assert after == {"type": "pong"}


def test_a_loop_of_new_connections_is_refused_past_the_users_budget(stage: LocalStage) -> None:
    stage.add_user("mallory", "Mallory-password-1")
    url = f"{stage.config['wsUrl']}?token={token(stage, 'mallory', 'Mallory-password-1')}"
    opened = refused = 0
    for _ in range(CONNECTIONS.burst + 15):
        try:
            with connect(url, open_timeout=10):
                opened += 1
        except InvalidStatus as error:
            assert error.response.status_code == 429  # $connect's answer, as API Gateway gives it
            refused += 1

    assert refused >= 1 and opened >= CONNECTIONS.burst
    with connect(f"{stage.config['wsUrl']}?token={token(stage, 'bob')}", open_timeout=10) as ws:
        ws.send(json.dumps({"action": "ping"}))
        assert next_answer(ws) == {"type": "pong"}  # nobody else is kept out

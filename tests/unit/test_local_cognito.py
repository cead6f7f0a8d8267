"""The local Cognito endpoint: only a public client's calls pass, bodies over 1 MB are refused,
and sign-ups are confirmed and remembered; against a stand-in for the local pool."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from local import cognito
from local.cognito import Cognito
from tests.unit.local_support import serving

TARGET = "AWSCognitoIdentityProviderService."
AMZ_JSON = "application/x-amz-json-1.1"


class Pool:
    """Stands in for moto's Cognito: records what reaches it, refuses a taken user name."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.app = Starlette(routes=[Route("/", self.answer, methods=["POST"])])

    async def answer(self, request: Request) -> Response:
        body = await request.body()
        self.received.append((dict(request.headers), body))
        headers = {"x-amzn-requestid": "r1", "x-other": "dropped"}
        if json.loads(body).get("Username") == "taken":
            error = {"__type": "UsernameExistsException", "message": "taken"}
            return JSONResponse(error, 400, headers, media_type=AMZ_JSON)
        answer = {"UserConfirmed": False, "UserSub": "sub-1"}
        return JSONResponse(answer, 200, headers, media_type=AMZ_JSON)


class Endpoint:
    def __init__(self, remember: bool = True) -> None:
        self.pool = Pool()
        self.signed_up: list[tuple[str, str, list[dict[str, str]]]] = []
        self.remember = remember
        self.url = ""

    def sign_up(self, user: str, password: str, attributes: list[dict[str, str]]) -> None:
        self.signed_up.append((user, password, attributes))

    def call(self, action: str, body: Any) -> requests.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"X-Amz-Target": TARGET + action, "Content-Type": AMZ_JSON}
        return requests.post(self.url, data=data, headers=headers, timeout=5)


@contextmanager
def running(endpoint: Endpoint) -> Iterator[Endpoint]:
    with serving(endpoint.pool.app) as pool_host:
        proxy = Cognito(f"http://{pool_host}", endpoint.sign_up if endpoint.remember else None)
        app = Starlette(routes=[Route("/cognito", proxy.handle, methods=["POST"])])
        with serving(app) as host:
            endpoint.url = f"http://{host}/cognito"
            yield endpoint


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with running(Endpoint()) as endpoint:
        yield endpoint


SIGN_UP = {
    "ClientId": "c1",
    "Username": "dora",
    "Password": "Secret-123",
    "UserAttributes": [{"Name": "email", "Value": "dora@example.com"}],
}


@pytest.mark.parametrize(
    "action", ["AdminCreateUser", "ListUsers", "", "ForgotPassword", "ConfirmForgotPassword"]
)
def test_a_call_that_needs_credentials_is_refused_before_the_pool(
    endpoint: Endpoint, action: str
) -> None:
    response = endpoint.call(action, {"UserPoolId": "p1"})

    assert response.status_code == 400
    assert response.json() == {
        "__type": "NotAuthorizedException",
        "message": f"{TARGET}{action} needs credentials",
    }
    assert endpoint.pool.received == []


def test_a_body_over_the_limit_is_refused_before_the_pool(
    endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cognito, "MAX_COGNITO_BODY_BYTES", 10)

    response = endpoint.call("InitiateAuth", b"x" * 11)

    assert (response.status_code, response.json()["__type"]) == (400, "InvalidParameterException")
    assert endpoint.pool.received == []


def test_a_public_call_is_passed_through_with_the_pools_answer(endpoint: Endpoint) -> None:
    body = {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "c1"}

    response = endpoint.call("InitiateAuth", body)

    ((headers, received),) = endpoint.pool.received
    assert json.loads(received) == body
    assert headers["x-amz-target"] == TARGET + "InitiateAuth"
    assert response.status_code == 200
    assert response.json() == {"UserConfirmed": False, "UserSub": "sub-1"}
    assert response.headers["content-type"] == AMZ_JSON
    assert response.headers["x-amzn-requestid"] == "r1"
    assert "x-other" not in response.headers
    assert endpoint.signed_up == []


def test_a_sign_up_is_confirmed_at_once_and_remembered(endpoint: Endpoint) -> None:
    response = endpoint.call("SignUp", SIGN_UP)

    assert response.status_code == 200
    assert response.json() == {"UserConfirmed": True, "UserSub": "sub-1"}
    assert endpoint.signed_up == [("dora", "Secret-123", SIGN_UP["UserAttributes"])]


def test_a_refused_sign_up_is_passed_back_and_not_remembered(endpoint: Endpoint) -> None:
    response = endpoint.call("SignUp", {**SIGN_UP, "Username": "taken"})

    assert (response.status_code, response.json()["__type"]) == (400, "UsernameExistsException")
    assert endpoint.signed_up == []


def test_without_a_sign_up_hook_the_pools_answer_is_passed_unchanged() -> None:
    with running(Endpoint(remember=False)) as endpoint:
        response = endpoint.call("SignUp", SIGN_UP)

        assert response.json() == {"UserConfirmed": False, "UserSub": "sub-1"}


def test_a_second_target_header_smuggling_an_admin_call_is_refused_before_the_pool(
    endpoint: Endpoint,
) -> None:
    host = endpoint.url.removeprefix("http://").removesuffix("/cognito")
    connection = http.client.HTTPConnection(host, timeout=5)
    body = json.dumps({"UserPoolId": "p1", "Username": "alice", "Password": "Mine-123456"})
    connection.putrequest("POST", "/cognito")
    connection.putheader("X-Amz-Target", TARGET + "InitiateAuth")
    connection.putheader("X-Amz-Target", TARGET + "AdminSetUserPassword")
    connection.putheader("Content-Type", AMZ_JSON)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body.encode())
    response = connection.getresponse()

    assert response.status == 400
    assert json.loads(response.read())["__type"] == "InvalidParameterException"
    assert endpoint.pool.received == []


def test_only_the_checked_target_and_the_body_reach_the_pool(endpoint: Endpoint) -> None:
    requests.post(
        endpoint.url,
        data=b"{}",
        headers={
            "X-Amz-Target": TARGET + "GetUser",
            "Content-Type": AMZ_JSON,
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/x",
            "X-Forwarded-For": "10.0.0.1",
        },
        timeout=5,
    )

    ((headers, _),) = endpoint.pool.received
    assert headers["x-amz-target"] == TARGET + "GetUser"
    assert "authorization" not in headers
    assert "x-forwarded-for" not in headers


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("InitiateAuth", {"AuthFlow": "USER_SRP_AUTH", "ClientId": "c1"}),
        ("InitiateAuth", {"AuthFlow": "CUSTOM_AUTH", "ClientId": "c1"}),
        ("RespondToAuthChallenge", {"ChallengeName": "PASSWORD_VERIFIER", "ClientId": "c1"}),
        ("InitiateAuth", b"[1]"),
    ],
    ids=["srp", "custom", "password-verifier", "not-an-object"],
)
def test_a_sign_in_flow_the_client_does_not_allow_is_refused_before_the_pool(
    endpoint: Endpoint, action: str, body: Any
) -> None:
    """moto checks neither the flows a client allows nor an SRP proof: it signed anyone in."""
    response = endpoint.call(action, body)

    assert (response.status_code, response.json()["__type"]) == (400, "InvalidParameterException")
    assert endpoint.pool.received == []

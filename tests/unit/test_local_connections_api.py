"""The local `@connections` endpoint (API Gateway's management API): a post is queued on the
connection's outbox, a gone connection answers 410 GoneException and data over 128 KB 413
PayloadTooLargeException, as boto3 reads them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from starlette.applications import Starlette
from starlette.routing import Route

from local import connections_api
from local.chaos import Chaos
from local.connections_api import MAX_POST_BYTES, ConnectionsApi
from tests.unit.local_support import serving


class FakeOutbox:
    def __init__(self, open: bool = True) -> None:
        self.open = open
        self.frames: list[str] = []

    def put(self, text: str) -> bool:
        if self.open:
            self.frames.append(text)
        return self.open


@pytest.fixture
def outboxes() -> dict[str, FakeOutbox]:
    return {"open": FakeOutbox(), "slow": FakeOutbox(open=False)}


@pytest.fixture
def base(outboxes: dict[str, FakeOutbox]) -> Iterator[str]:
    api = ConnectionsApi(outboxes)  # type: ignore[arg-type]
    app = Starlette(
        routes=[Route("/@connections/{connection_id}", api.post_to_connection, methods=["POST"])]
    )
    with serving(app) as host:
        yield f"http://{host}"


def post(base: str, connection_id: str, data: Any) -> requests.Response:
    return requests.post(f"{base}/@connections/{connection_id}", data=data, timeout=5)


def test_a_post_to_an_open_connection_is_queued_and_answered_at_once(
    base: str, outboxes: dict[str, FakeOutbox]
) -> None:
    response = post(base, "open", b'{"type": "ping"}')

    assert response.status_code == 200
    assert outboxes["open"].frames == ['{"type": "ping"}']


@pytest.mark.parametrize("connection_id", ["unknown", "slow"])
def test_a_post_to_a_connection_that_is_gone_answers_410(base: str, connection_id: str) -> None:
    response = post(base, connection_id, b"{}")

    assert (response.status_code, response.json()) == (410, {"message": "Gone"})
    assert response.headers["x-amzn-ErrorType"] == "GoneException"


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_post_over_the_limit_answers_413_before_it_is_queued(
    base: str, outboxes: dict[str, FakeOutbox], monkeypatch: pytest.MonkeyPatch, chunked: bool
) -> None:
    monkeypatch.setattr(connections_api, "MAX_POST_BYTES", 10)
    data: Any = iter([b"x" * 6, b"x" * 5]) if chunked else b"x" * 11

    response = post(base, "open", data)

    assert (response.status_code, response.json()) == (413, {"message": "Request Entity Too Large"})
    assert response.headers["x-amzn-ErrorType"] == "PayloadTooLargeException"
    assert outboxes["open"].frames == []
    assert post(base, "open", b"x" * 10).status_code == 200


def test_boto3_reads_the_answers_as_api_gateways_exceptions(
    base: str, outboxes: dict[str, FakeOutbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    posts = boto3.client("apigatewaymanagementapi", endpoint_url=base, region_name="us-east-1")

    posts.post_to_connection(ConnectionId="open", Data=b"hello")
    with pytest.raises(posts.exceptions.GoneException):
        posts.post_to_connection(ConnectionId="unknown", Data=b"hello")
    with pytest.raises(posts.exceptions.PayloadTooLargeException):
        posts.post_to_connection(ConnectionId="open", Data=b"x" * (MAX_POST_BYTES + 1))

    assert outboxes["open"].frames == ["hello"]


def test_a_hostile_stage_refuses_a_connections_posts_for_a_while_as_api_gateway_does(
    outboxes: dict[str, FakeOutbox],
) -> None:
    api = ConnectionsApi(outboxes, Chaos(connections_throttle=1.0))  # type: ignore[arg-type]
    app = Starlette(
        routes=[Route("/@connections/{connection_id}", api.post_to_connection, methods=["POST"])]
    )
    with serving(app) as host:
        first = post(f"http://{host}", "open", b"{}")
        api.chaos = Chaos()  # no new refusals: the one under way goes on
        again = post(f"http://{host}", "open", b"{}")
        api.clock = lambda: 1e12  # 3 s later, and more
        later = post(f"http://{host}", "open", b"{}")

    assert (first.status_code, first.json()) == (429, {"message": "Rate exceeded"})
    assert first.headers["x-amzn-ErrorType"] == "LimitExceededException"
    assert again.status_code == 429
    assert later.status_code == 200 and outboxes["open"].frames == ["{}"]


def test_given_the_stage_s_credentials_only_a_post_signed_with_them_is_queued(
    outboxes: dict[str, FakeOutbox],
) -> None:
    stage = Credentials("LOCALSTAGE", "stage-secret")
    api = ConnectionsApi(outboxes, credentials=stage)  # type: ignore[arg-type]
    app = Starlette(
        routes=[Route("/@connections/{connection_id}", api.post_to_connection, methods=["POST"])]
    )

    def poster(key: str, secret: str) -> Any:
        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=f"http://{host}",
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )

    with serving(app) as host:
        poster("LOCALSTAGE", "stage-secret").post_to_connection(ConnectionId="open", Data=b"hi")
        unsigned = post(f"http://{host}", "open", b'{"type": "message.created"}')
        with pytest.raises(ClientError, match="ForbiddenException"):
            poster("LOCALSTAGE", "guessed").post_to_connection(ConnectionId="open", Data=b"x")

    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert outboxes["open"].frames == ["hi"]

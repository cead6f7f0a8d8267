"""A hostile local DynamoDB (local/chaos.py) refuses as AWS's does now and then: throttled
requests before they touch anything, transactions cancelled by a conflict; the product's clients
ride through throttling. A real server process, reached over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from adapters.aws import client
from adapters.event_store import DynamoEventStore
from adapters.tables import create_table
from application.service import ChatService
from components.topology import EVENTS
from domain.ids import room_stream
from local.chaos import Chaos
from local.moto_process import moto_server

TABLE = "hostile"


def table(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def hostile(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A client that does not retry, on a server failing at the test's rates."""
    with moto_server(chaos=request.param):
        # A session of its own: the default one keeps the credentials of the first server.
        dynamodb = boto3.session.Session().client(
            "dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 1})
        )
        table(dynamodb)  # the control plane is not throttled
        yield dynamodb


def put(pk: str) -> dict[str, Any]:
    return {"Put": {"TableName": TABLE, "Item": {"pk": {"S": pk}}}}


@pytest.mark.parametrize("hostile", [Chaos(throttle=1.0)], indirect=True)
def test_a_throttled_request_is_refused_as_dynamodb_refuses_it(hostile: Any) -> None:
    with pytest.raises(ClientError) as refused:
        hostile.put_item(TableName=TABLE, Item={"pk": {"S": "a"}})

    assert refused.value.response["Error"]["Code"] in {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
    }
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("hostile", [Chaos(transaction_conflict=1.0)], indirect=True)
def test_a_transaction_meeting_another_is_cancelled_whole_with_a_conflict_reason(
    hostile: Any,
) -> None:
    with pytest.raises(ClientError) as cancelled:
        hostile.transact_write_items(TransactItems=[put("a"), put("b")])

    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons in (["TransactionConflict", "None"], ["ThrottlingError", "None"])
    assert hostile.scan(TableName=TABLE)["Items"] == []


def test_the_products_clients_ride_through_throttling() -> None:
    # 0.1: five attempts all throttled is 1e-5 a call
    with moto_server(chaos=Chaos(throttle=0.1)):
        dynamodb = client("dynamodb")  # the adapters' client: standard retries
        table(dynamodb)
        for n in range(40):
            dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": str(n)}})
        items = dynamodb.scan(TableName=TABLE)["Items"]

    assert sorted(int(item["pk"]["S"]) for item in items) == list(range(40))


def test_sends_ride_through_cancelled_transactions_gap_free() -> None:
    with moto_server(chaos=Chaos(transaction_conflict=0.5)):
        create_table(EVENTS, "events", client("dynamodb"))
        chat = ChatService(DynamoEventStore("events"))
        room = chat.create_room("alice", "Busy", ("bob",)).room_id
        sent = [chat.send("alice", room, f"m{n}").seq for n in range(20)]

        log = DynamoEventStore("events").read_stream(room_stream(room))

    assert sent == list(range(2, 22))
    assert [event.version for event in log] == list(range(1, 22))

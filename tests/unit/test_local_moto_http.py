"""The DynamoDB server's direct path (local/moto_http.py) answers every call as moto's own Flask
application answers it: same status, headers that matter and body, errors included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

from local.moto_http import _dynamodb_directly

AUTH = (
    "AWS4-HMAC-SHA256 Credential=LOCALKEY/20261126/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-date;x-amz-target, Signature=0"
)
TABLE = {
    "TableName": "direct",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
}


def call(app: Any, target: str, body: dict[str, Any]) -> tuple[int, str, Any]:
    answer = Client(app).post(
        "/",
        data=json.dumps(body),
        headers={
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": AUTH,
            "X-Amz-Date": "20261126T120000Z",
        },
    )
    return answer.status_code, answer.headers.get("Content-Type", ""), json.loads(answer.data)


@pytest.fixture(scope="module")
def apps() -> tuple[Any, Any]:
    motos_own = DomainDispatcherApplication(create_backend_app)
    own, direct = motos_own, _dynamodb_directly(motos_own)
    call(own, "DynamoDB_20120810.CreateTable", TABLE)
    call(own, "DynamoDB_20120810.PutItem", {"TableName": "direct", "Item": {"pk": {"S": "a"}}})
    return own, direct


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("DynamoDB_20120810.GetItem", {"TableName": "direct", "Key": {"pk": {"S": "a"}}}),
        ("DynamoDB_20120810.GetItem", {"TableName": "nowhere", "Key": {"pk": {"S": "a"}}}),
        (
            "DynamoDB_20120810.UpdateItem",
            {
                "TableName": "direct",
                "Key": {"pk": {"S": "a"}},
                "UpdateExpression": "SET #n = :n",
                "ConditionExpression": "attribute_not_exists(pk)",
                "ExpressionAttributeNames": {"#n": "n"},
                "ExpressionAttributeValues": {":n": {"N": "1"}},
            },
        ),
        ("DynamoDB_20120810.Query", {"TableName": "direct"}),
        ("DynamoDBStreams_20120810.ListStreams", {"TableName": "direct"}),
    ],
    ids=["found", "no-table", "condition-failed", "invalid", "streams"],
)
def test_a_call_is_answered_as_motos_own_application_answers_it(
    apps: tuple[Any, Any], target: str, body: dict[str, Any]
) -> None:
    own, direct = apps

    assert call(direct, target, body) == call(own, target, body)

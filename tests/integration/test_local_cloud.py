"""The local moto server keeps DynamoDB's transaction semantics: all or nothing."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from adapters.aws import client
from local.provision import Stage
from local.streams import StreamReader


def put(table: str, pk: str, **extra: dict[str, str]) -> dict[str, object]:
    return {
        "Put": {
            "TableName": table,
            "Item": {"pk": {"S": pk}, "sk": {"N": "0"}, **extra},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def keys(table: str) -> list[str]:
    return sorted(item["pk"]["S"] for item in client("dynamodb").scan(TableName=table)["Items"])


def test_a_transaction_with_a_failed_condition_writes_nothing_and_streams_nothing(
    stage: Stage,
) -> None:
    table = stage.tables["events"]
    reader = StreamReader(stage.events_stream_arn)
    client("dynamodb").transact_write_items(TransactItems=[put(table, "taken")])
    reader.poll()

    with pytest.raises(ClientError) as cancelled:
        client("dynamodb").transact_write_items(
            TransactItems=[put(table, "fresh"), put(table, "taken")]
        )

    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert keys(table) == ["taken"]
    assert reader.poll() == []


def test_a_transaction_whose_write_is_refused_leaves_no_partial_write(stage: Stage) -> None:
    table = stage.tables["events"]
    reader = StreamReader(stage.events_stream_arn)
    too_large = {"blob": {"S": "x" * 450_000}}

    with pytest.raises(ClientError):
        client("dynamodb").transact_write_items(
            TransactItems=[put(table, "first"), put(table, "second", **too_large)]
        )

    assert keys(table) == []
    assert reader.poll() == []  # no record of the write that was undone

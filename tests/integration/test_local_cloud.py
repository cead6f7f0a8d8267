"""The local moto server keeps DynamoDB's semantics where moto alone does not: transactions are
all or nothing, and a query reads its own partition (moto reads the whole table). Its faster
answers say exactly what moto's own would, on connections kept for the next call."""

from __future__ import annotations

import http.client
import json

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
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


def test_a_refused_transaction_undoes_its_updates_too(stage: Stage) -> None:
    table = stage.tables["events"]
    dynamodb = client("dynamodb")
    key = {"pk": {"S": "counter"}, "sk": {"N": "0"}}
    dynamodb.put_item(TableName=table, Item={**key, "n": {"N": "0"}})
    increment = {
        "Update": {
            "TableName": table,
            "Key": key,
            "UpdateExpression": "SET n = n + :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }

    for _ in range(2):
        with pytest.raises(ClientError):
            dynamodb.transact_write_items(
                TransactItems=[increment, put(table, "big", blob={"S": "x" * 450_000})]
            )

    item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert item["n"] == {"N": "0"}


def test_a_query_answers_its_partition_in_order_and_an_index_query_still_works(
    moto_endpoint: str,
) -> None:
    dynamodb = client("dynamodb")
    name = "query-check"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "tag", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-tag",
                "KeySchema": [{"AttributeName": "tag", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for pk in ("a", "b"):
        for sk in ("m3", "m1", "x", "m2"):
            item = {"pk": {"S": pk}, "sk": {"S": sk}, "tag": {"S": "t-" + sk}}
            dynamodb.put_item(TableName=name, Item=item)

    newest_first = dynamodb.query(
        TableName=name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
        ExpressionAttributeValues={":pk": {"S": "a"}, ":m": {"S": "m"}},
        ScanIndexForward=False,
    )["Items"]
    tagged = dynamodb.query(
        TableName=name,
        IndexName="by-tag",
        KeyConditionExpression="tag = :t",
        ExpressionAttributeValues={":t": {"S": "t-x"}},
    )["Items"]

    assert [(i["pk"]["S"], i["sk"]["S"]) for i in newest_first] == [
        ("a", "m3"),
        ("a", "m2"),
        ("a", "m1"),
    ]
    assert sorted(i["pk"]["S"] for i in tagged) == ["a", "b"]


EVERY_KIND = {
    "s": {"S": "text é"},
    "n": {"N": "-12.5"},
    "b": {"B": b"\x00\xffbinary"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "bool": {"BOOL": False},
    "null": {"NULL": True},
    "m": {"M": {"inner": {"L": [{"S": "x"}, {"B": b"\x03"}, {"M": {}}]}, "n": {"N": "7"}}},
    "l": {"L": []},
}


def test_every_kind_of_attribute_value_reads_back_as_written_from_items_queries_and_streams(
    stage: Stage,
) -> None:
    dynamodb, table = client("dynamodb"), stage.tables["events"]
    reader = StreamReader(stage.events_stream_arn)
    key = {"pk": {"S": "kinds"}, "sk": {"N": "1"}}
    dynamodb.put_item(TableName=table, Item={**key, **EVERY_KIND})
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "n2"},
        ExpressionAttributeValues={":n": {"N": "3"}},
        ReturnValues="ALL_NEW",
    )
    expected = {**key, **EVERY_KIND, "n2": {"N": "3"}}

    got = dynamodb.get_item(TableName=table, Key=key)["Item"]
    queried = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "kinds"}},
    )["Items"]
    batch = dynamodb.batch_get_item(RequestItems={table: {"Keys": [key]}})["Responses"][table]
    streamed = [record["dynamodb"]["NewImage"] for record in reader.poll()]

    assert got == expected
    assert queried == batch == [expected]
    assert streamed == [{**key, **EVERY_KIND}, expected]


def test_the_stream_reader_names_the_shard_each_record_came_from(stage: Stage) -> None:
    reader = StreamReader(stage.events_stream_arn)
    client("dynamodb").put_item(
        TableName=stage.tables["events"], Item={"pk": {"S": "where"}, "sk": {"N": "1"}}
    )
    (record,) = reader.poll()
    shards = client("dynamodbstreams").describe_stream(StreamArn=stage.events_stream_arn)[
        "StreamDescription"
    ]["Shards"]

    assert reader.shard_of(record["dynamodb"]["SequenceNumber"]) == shards[-1]["ShardId"]


def test_the_server_keeps_a_connection_for_the_next_call_as_aws_does(moto_endpoint: str) -> None:
    host, port = moto_endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    request = AWSRequest(
        "POST",
        moto_endpoint + "/",
        data=b"{}",
        headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    credentials = boto3.session.Session().get_credentials()
    SigV4Auth(credentials, "dynamodb", "us-east-1").add_auth(request)
    signed = dict(request.headers.items())
    answers = []
    for _ in range(3):
        connection.request("POST", "/", body="{}", headers=signed)
        answer = connection.getresponse()
        answers.append((answer.status, answer.getheader("Connection"), json.loads(answer.read())))
        assert connection.sock is not None  # still open: the next request goes on it

    assert [(status, closing) for status, closing, _ in answers] == [(200, None)] * 3
    assert all("TableNames" in body for _, _, body in answers)


def test_s3_keeps_a_key_s_escapes_and_a_metadata_name_s_underscores_as_s3_does(
    stage: Stage,
) -> None:
    s3, bucket = client("s3"), stage.buckets["files"]
    s3.put_object(Bucket=bucket, Key="a%41 what?.txt", Body=b"x", Metadata={"my_key": "v"})

    listed = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == ["a%41 what?.txt"]
    head = s3.head_object(Bucket=bucket, Key="a%41 what?.txt")
    assert head["Metadata"] == {"my_key": "v"}

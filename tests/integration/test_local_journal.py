"""The local DynamoDB acknowledges only durable writes: with a journal, every change to the
journaled table is in the file before the request is answered, a SIGKILL of the server loses no
acknowledged write, and a restarted server has the table back. Real server processes, no patches
in the test process."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from adapters.tables import create_table
from components.topology import EVENTS, VIEWS
from local.moto_process import ROOT, free_port
from local.streams import StreamReader

TABLE = "kept-events"
OTHER = "kept-views"


@contextmanager
def server(journal: Path) -> Iterator[tuple[Any, subprocess.Popen[bytes]]]:
    """A DynamoDB server journaling TABLE into `journal`, with the tables created, and a client."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "local.moto_server", "--port", str(port), *journaled(journal)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "moto did not start"
            try:
                with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        create_table(EVENTS, TABLE, dynamodb)
        create_table(VIEWS, OTHER, dynamodb)
        yield dynamodb, process
    finally:
        process.terminate()  # a clean stop (it compacts the journal); no-op once killed
        process.wait(timeout=20)


def journaled(journal: Path) -> list[str]:
    return ["--journal", str(journal), "--journal-table", TABLE]


def item(pk: str, sk: int = 1, **attributes: Any) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}, **attributes}


def lines(journal: Path) -> list[Any]:
    return [json.loads(line) for line in journal.read_bytes().splitlines()]


def items(dynamodb: Any, table: str = TABLE) -> dict[str, dict[str, Any]]:
    scanned = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return {f"{found['pk']['S']}/{found['sk']['N']}": found for found in scanned}


def test_every_change_is_in_the_journal_when_the_write_is_answered(tmp_path: Path) -> None:
    journal = tmp_path / "events.jsonl"
    with server(journal) as (dynamodb, _):
        seen = len(lines(journal))

        def new_lines() -> list[Any]:
            nonlocal seen
            added = lines(journal)[seen:]
            seen += len(added)
            return added

        nested = {"M": {"l": {"L": [{"N": "1"}, {"S": "x"}]}, "b": {"BOOL": True}}}
        dynamodb.put_item(TableName=TABLE, Item=item("a", text={"S": "one"}, nested=nested))
        assert new_lines() == [item("a", text={"S": "one"}, nested=nested)]

        dynamodb.update_item(
            TableName=TABLE,
            Key=item("a"),
            UpdateExpression="SET #t = :t",
            ExpressionAttributeNames={"#t": "text"},
            ExpressionAttributeValues={":t": {"S": "two"}},
        )
        assert new_lines() == [item("a", text={"S": "two"}, nested=nested)]

        dynamodb.update_item(  # an update creates an item that was not there
            TableName=TABLE,
            Key=item("counter", 0),
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        assert new_lines() == [item("counter", 0, n={"N": "1"})]

        with pytest.raises(ClientError, match="ConditionalCheckFailed"):
            dynamodb.put_item(
                TableName=TABLE, Item=item("a"), ConditionExpression="attribute_not_exists(pk)"
            )
        with pytest.raises(ClientError, match="ConditionalCheckFailed"):
            dynamodb.update_item(
                TableName=TABLE,
                Key=item("a"),
                UpdateExpression="SET n = :n",
                ConditionExpression="attribute_not_exists(pk)",
                ExpressionAttributeValues={":n": {"N": "1"}},
            )
        dynamodb.delete_item(TableName=TABLE, Key=item("nothing-here"))
        dynamodb.put_item(TableName=OTHER, Item={"pk": {"S": "view"}, "sk": {"S": "row"}})
        assert new_lines() == []  # refused, nothing deleted, or another table: nothing written

        dynamodb.delete_item(TableName=TABLE, Key=item("a"))
        assert new_lines() == [{"REMOVE": item("a")}]

        dynamodb.batch_write_item(
            RequestItems={
                TABLE: [
                    {"PutRequest": {"Item": item("b")}},
                    {"DeleteRequest": {"Key": item("counter", 0)}},
                ]
            }
        )
        assert new_lines() == [item("b"), {"REMOVE": item("counter", 0)}]

        put_new = {"Put": {"TableName": TABLE, "Item": item("c")}}
        dynamodb.transact_write_items(
            TransactItems=[
                put_new,
                {"Delete": {"TableName": TABLE, "Key": item("b")}},
                {"Put": {"TableName": OTHER, "Item": {"pk": {"S": "v"}, "sk": {"S": "r"}}}},
            ]
        )
        assert new_lines() == [{"TRANSACTION": [item("c"), {"REMOVE": item("b")}]}]

        # PartiQL changes the table's items directly (not through the backend's PutItem or
        # DeleteItem), as a TTL sweep would delete them: journaled all the same
        dynamodb.execute_statement(
            Statement=f"INSERT INTO \"{TABLE}\" VALUE {{'pk': 'q', 'sk': 1}}"
        )
        assert new_lines() == [item("q")]
        dynamodb.delete_item(TableName=TABLE, Key=item("q"))
        assert new_lines() == [{"REMOVE": item("q")}]

        cancelled = {**put_new["Put"], "ConditionExpression": "attribute_not_exists(pk)"}
        with pytest.raises(ClientError, match="TransactionCanceled"):
            dynamodb.transact_write_items(
                TransactItems=[{"Put": {"TableName": TABLE, "Item": item("d")}}, {"Put": cancelled}]
            )
        with pytest.raises(ClientError):  # refused mid-way (too large): undone, so not journaled
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": item("e")}},
                    {"Put": {"TableName": TABLE, "Item": item("f", blob={"S": "x" * 450_000})}},
                ]
            )
        assert new_lines() == []
        assert sorted(items(dynamodb)) == ["c/1"]


def test_a_restarted_server_has_the_table_back_and_a_torn_last_line_costs_only_itself(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "events.jsonl"
    with server(journal) as (dynamodb, _):
        for n in range(5):
            dynamodb.put_item(TableName=TABLE, Item=item("room", n + 1, text={"S": f"m{n}"}))
        dynamodb.delete_item(TableName=TABLE, Key=item("room", 5))
        dynamodb.put_item(TableName=TABLE, Item=item("room", 1, text={"S": "edited"}))
        before = items(dynamodb)
    assert len(lines(journal)) == 4  # a clean stop compacts the journal to the items
    with journal.open("ab") as saved:
        saved.write(b'{"pk":{"S":"torn"},"sk"')  # the server died writing an unanswered change

    with server(journal) as (dynamodb, _):
        assert items(dynamodb) == before
        assert before["room/1"]["text"] == {"S": "edited"}
        arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        streams = boto3.client(
            "dynamodbstreams",
            endpoint_url=dynamodb.meta.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert StreamReader(arn, streams).poll() == []  # put back, not new changes
        assert len(lines(journal)) == 4  # compacted when the table was created: no torn line
        dynamodb.put_item(TableName=TABLE, Item=item("after", text={"S": "next run"}))
        assert lines(journal)[-1] == item("after", text={"S": "next run"})


def test_no_acknowledged_write_is_lost_when_the_server_is_killed_mid_burst(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "events.jsonl"
    acknowledged: list[str] = []
    with server(journal) as (dynamodb, process):
        stop = threading.Event()

        def writer(name: str) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                update = {
                    "Update": {
                        "TableName": TABLE,
                        "Key": item("head", 0),
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
                put = {"Put": {"TableName": TABLE, "Item": item(name, n)}}
                try:
                    dynamodb.transact_write_items(TransactItems=[put, update])
                except Exception:  # the server is gone: this one was never acknowledged
                    return
                acknowledged.append(f"{name}/{n}")

        writers = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(4)]
        for thread in writers:
            thread.start()
        deadline = time.monotonic() + 30
        # More than 20 acknowledged before the kill, however slowly a loaded machine writes.
        while len(acknowledged) <= 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(random.uniform(0, 0.3))  # then at a random instant of the burst
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        stop.set()
        for thread in writers:
            thread.join(timeout=30)
    assert len(acknowledged) > 20

    with server(journal) as (dynamodb, _):
        kept = items(dynamodb)
        assert set(acknowledged) <= set(kept)
        # each transaction is kept whole or not at all: the head counts the kept puts
        assert int(kept.pop("head/0")["n"]["N"]) == len(kept)


def test_a_second_server_on_the_same_journal_refuses_to_start(tmp_path: Path) -> None:
    journal = tmp_path / "events.jsonl"
    with server(journal) as (dynamodb, _):
        dynamodb.put_item(TableName=TABLE, Item=item("room#kept"))
        port = str(free_port())
        second = subprocess.run(
            [sys.executable, "-m", "local.moto_server", "--port", port, *journaled(journal)],
            check=False,
            cwd=ROOT,
            capture_output=True,
            timeout=60,
        )

        assert second.returncode != 0
        assert b"in use by another local stage" in second.stderr
        assert dynamodb.get_item(TableName=TABLE, Key=item("room#kept")).get("Item")


def test_binary_sets_are_kept_like_every_other_attribute(tmp_path: Path) -> None:
    journal = tmp_path / "events.jsonl"
    binaries = {"BS": [b"\x00\x01", b"\xff"]}
    with server(journal) as (dynamodb, process):
        dynamodb.put_item(TableName=TABLE, Item=item("room#bin", blobs=binaries))
        process.kill()
    with server(journal) as (dynamodb, _):
        kept = dynamodb.get_item(TableName=TABLE, Key=item("room#bin"))["Item"]

    assert sorted(kept["blobs"]["BS"]) == sorted(binaries["BS"])


def test_a_deleted_table_is_forgotten_and_comes_back_empty_when_created_again(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "events.jsonl"
    with server(journal) as (dynamodb, _):
        dynamodb.put_item(TableName=TABLE, Item=item("room", 1, text={"S": "gone soon"}))
        dynamodb.delete_table(TableName=TABLE)
        assert journal.read_bytes() == b""
        create_table(EVENTS, TABLE, dynamodb)
        assert items(dynamodb) == {}
        dynamodb.put_item(TableName=TABLE, Item=item("room", 1, text={"S": "new"}))

    with server(journal) as (dynamodb, _):
        assert [found["text"] for found in items(dynamodb).values()] == [{"S": "new"}]

"""The local stage's saved log (the events table's journal, written by the DynamoDB server): changes
appended as they are made, read back as the table was. Plain moto tables, nothing patched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

from local.moto_server import Journal
from local.password_hash import matches
from local.persistence import EVENTS_FILE, USERS_FILE, LocalState

NAME = "kept-events"


def table() -> Table:
    return Table(  # type: ignore[abstract]  # as moto makes them (CloudFormation hooks unused)
        NAME,
        account_id="123456789012",
        region="us-east-1",
        schema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        attr=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
    )


def item(pk: str, sk: int = 1, **attributes: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}, **{k: {"S": v} for k, v in attributes.items()}}


def remove(pk: str, sk: int = 1) -> dict[str, Any]:
    return {"REMOVE": {"pk": {"S": pk}, "sk": {"N": str(sk)}}}


def saved(path: Path, *entries: Any) -> None:
    with path.open("a") as out:
        out.writelines(json.dumps(entry) + "\n" for entry in entries)


def kept(restored: Table) -> dict[str, dict[str, Any]]:
    return {found.hash_key.value: found.to_json()["Attributes"] for found in restored.all_items()}


def test_later_changes_replace_and_remove_earlier_ones_and_a_transaction_counts_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / EVENTS_FILE
    saved(path, item("a", text="one"), item("b"), item("c"))
    saved(path, item("a", text="two"), remove("b"), {"TRANSACTION": [item("d"), remove("c")]})

    restored = table()
    assert Journal(path, NAME).attach(restored) == 2

    assert kept(restored) == {"a": item("a", text="two"), "d": item("d")}
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        item("a", text="two"),
        item("d"),
    ]  # compacted


def test_a_line_cut_short_by_a_kill_costs_only_itself(tmp_path: Path) -> None:
    path = tmp_path / EVENTS_FILE
    saved(path, item("kept"))
    with path.open("a") as out:
        out.write('{"pk": {"S": "torn"}, "sk"')  # the server died mid-write, unanswered

    restored = table()
    journal = Journal(path, NAME)
    journal.attach(restored)
    restored.put_item(item("after"))
    journal.note(restored, DynamoType({"S": "after"}), DynamoType({"N": "1"}))
    journal.flush()

    next_run = table()
    Journal(path, NAME).attach(next_run)
    assert sorted(kept(next_run)) == ["after", "kept"]


def test_one_line_per_write_with_the_items_as_the_write_left_them(tmp_path: Path) -> None:
    path = tmp_path / EVENTS_FILE
    live = table()
    journal = Journal(path, NAME)
    journal.attach(live)

    live.put_item(item("a", text="one"))
    journal.note(live, DynamoType({"S": "a"}), DynamoType({"N": "1"}))
    journal.flush()
    live.put_item(item("b"))
    live.put_item(item("a", text="two"))
    live.delete_item(DynamoType({"S": "b"}), DynamoType({"N": "1"}))
    for pk in ("b", "a", "b"):  # noted once each, in the order first changed
        journal.note(live, DynamoType({"S": pk}), DynamoType({"N": "1"}))
    journal.flush()
    journal.flush()  # nothing new: no line
    mark = journal.mark()
    live.put_item(item("undone"))
    journal.note(live, DynamoType({"S": "undone"}), DynamoType({"N": "1"}))
    journal.forget_since(mark)  # a transaction undone mid-way
    journal.flush()
    journal.note(table(), DynamoType({"S": "elsewhere"}), DynamoType({"N": "1"}))  # another table
    journal.flush()

    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        item("a", text="one"),
        {"TRANSACTION": [remove("b"), item("a", text="two")]},
    ]


def test_a_sign_up_cut_short_by_a_kill_costs_only_itself(tmp_path: Path) -> None:
    state = LocalState(tmp_path)
    state.remember_user("alice", "Alice-password-1", [])
    with (tmp_path / USERS_FILE).open("a") as out:
        out.write('{"username": "bo')  # the stage killed mid-line

    state.remember_user("carol", "Carol-password-1", [])

    assert [user["username"] for user in LocalState(tmp_path).users()] == ["alice", "carol"]


def test_no_password_is_kept_in_the_clear_and_an_old_file_is_rewritten_hashed(
    tmp_path: Path,
) -> None:
    state = LocalState(tmp_path)
    state.remember_user("alice", "Alice-password-1", [])
    with (tmp_path / USERS_FILE).open("a") as out:  # as a stage before hashing kept one
        out.write(json.dumps({"username": "bob", "password": "Bob-password-1", "attributes": []}))
        out.write("\n")

    users = LocalState(tmp_path).users()

    kept = (tmp_path / USERS_FILE).read_text()
    assert "Alice-password-1" not in kept and "Bob-password-1" not in kept
    assert [
        matches(user["password"], f"{user['username'].title()}-password-1") for user in users
    ] == [
        True,
        True,
    ]
    assert not matches(users[0]["password"], "Bob-password-1")

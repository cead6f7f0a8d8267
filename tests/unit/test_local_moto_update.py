"""The local DynamoDB's direct path for updates that set whole attributes (local/moto_update.py)
leaves every item as moto's own update code does, refuses what DynamoDB refuses, and writes one
stream record a change."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto.dynamodb.exceptions import ConditionalCheckFailed, ItemSizeToUpdateTooLarge
from moto.dynamodb.models import DynamoDBBackend

from local.moto_update import plain_sets, plain_sets_directly

ACCOUNT, REGION, TABLE = "123456789012", "us-east-1", "views"
MOTOS_OWN: Callable[..., Any] = DynamoDBBackend.update_item
DIRECT = plain_sets_directly(MOTOS_OWN)
GUARDED = "attribute_not_exists(#guard) OR #guard < :version"


def backend() -> DynamoDBBackend:
    made = DynamoDBBackend(REGION, ACCOUNT)
    made.create_table(
        TABLE,
        schema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        throughput=None,
        attr=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        global_indexes=None,
        indexes=None,
        streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    return made


def key(sk: str = "#meta") -> dict[str, Any]:
    return {"pk": {"S": "room#r1"}, "sk": {"S": sk}}


def guarded_set(
    update: Callable[..., Any],
    store: DynamoDBBackend,
    sk: str,
    fields: dict[str, Any],
    version: int,
) -> Any:
    names = {f"#f{i}": name for i, name in enumerate(fields)} | {"#guard": "rv"}
    values = {f":f{i}": value for i, value in enumerate(fields.values())}
    values[":version"] = {"N": str(version)}
    return update(
        store,
        TABLE,
        key(sk),
        "SET " + ", ".join([*(f"#f{i} = :f{i}" for i in range(len(fields))), "#guard = :version"]),
        names,
        values,
        condition_expression=GUARDED,
    )


def stored(store: DynamoDBBackend) -> list[dict[str, Any]]:
    table = store.get_table(TABLE)
    return [item.to_json()["Attributes"] for item in table.all_items()]


def stream_images(store: DynamoDBBackend) -> list[tuple[str, Any]]:
    shard = store.get_table(TABLE).stream_shard
    assert shard is not None
    return [
        (record.record["eventName"], record.record["dynamodb"].get("NewImage"))
        for record in shard.items
    ]


values = st.one_of(
    st.text(max_size=20).map(lambda text: {"S": text}),
    st.integers(-(10**6), 10**6).map(lambda n: {"N": str(n)}),
    st.booleans().map(lambda flag: {"BOOL": flag}),
    st.just({"NULL": True}),
    st.lists(st.integers(0, 9).map(lambda n: {"N": str(n)}), max_size=3).map(
        lambda items: {"L": items}
    ),
    st.dictionaries(st.sampled_from("xyz"), st.just({"S": "v"}), max_size=2).map(
        lambda m: {"M": m}
    ),
)
updates = st.lists(
    st.tuples(
        st.sampled_from(["#meta", "msg#1", "msg#2"]),
        st.dictionaries(st.sampled_from(["text", "last_seq", "edited", "by"]), values, max_size=3),
        st.integers(1, 6),
    ),
    max_size=12,
)


@given(updates)
def test_any_run_of_guarded_sets_leaves_the_items_moto_s_own_code_leaves(
    run: list[tuple[str, dict[str, Any], int]],
) -> None:
    direct, own = backend(), backend()
    for sk, fields, version in run:
        outcomes = []
        for update, store in ((DIRECT, direct), (MOTOS_OWN, own)):
            try:
                guarded_set(update, store, sk, fields, version)
                outcomes.append("applied")
            except ConditionalCheckFailed:
                outcomes.append("refused")
        assert outcomes[0] == outcomes[1]
        assert stored(direct) == stored(own)


def test_each_applied_update_makes_one_stream_record_with_the_new_image() -> None:
    store = backend()
    guarded_set(DIRECT, store, "msg#1", {"text": {"S": "hi"}}, 1)
    guarded_set(DIRECT, store, "msg#1", {"text": {"S": "edited"}}, 2)
    with pytest.raises(ConditionalCheckFailed):
        guarded_set(DIRECT, store, "msg#1", {"text": {"S": "stale"}}, 2)

    assert [(name, image["text"]) for name, image in stream_images(store)] == [
        ("INSERT", {"S": "hi"}),
        ("MODIFY", {"S": "edited"}),
    ]


def test_an_update_past_the_size_limit_changes_nothing_and_creates_nothing() -> None:
    store = backend()
    guarded_set(DIRECT, store, "msg#1", {"text": {"S": "small"}}, 1)
    huge = {"S": "x" * 410_000}

    with pytest.raises(ItemSizeToUpdateTooLarge):
        guarded_set(DIRECT, store, "msg#1", {"text": huge}, 2)
    with pytest.raises(ItemSizeToUpdateTooLarge):
        guarded_set(DIRECT, store, "msg#2", {"text": huge}, 1)

    assert [item["sk"] for item in stored(store)] == [{"S": "msg#1"}]
    assert stored(store)[0]["text"] == {"S": "small"}
    assert len(stream_images(store)) == 1


def test_a_failed_condition_hands_back_the_old_item_when_asked() -> None:
    store = backend()
    guarded_set(DIRECT, store, "msg#1", {"text": {"S": "hi"}}, 3)

    with pytest.raises(ConditionalCheckFailed) as refused:
        DIRECT(
            store,
            TABLE,
            key("msg#1"),
            "SET #t = :t",
            {"#t": "text", "#guard": "rv"},
            {":t": {"S": "late"}, ":version": {"N": "2"}},
            condition_expression=GUARDED,
            return_values_on_condition_check_failure="ALL_OLD",
        )

    assert json.loads(refused.value.description)["Item"]["text"] == {"S": "hi"}


def test_setting_a_key_attribute_is_refused_as_moto_refuses_it() -> None:
    def set_pk(update: Callable[..., Any]) -> type[BaseException]:
        with pytest.raises(Exception) as refused:
            update(backend(), TABLE, key(), "SET #k = :k", {"#k": "pk"}, {":k": {"S": "x"}})
        return refused.type

    assert set_pk(DIRECT) is set_pk(MOTOS_OWN)


@pytest.mark.parametrize(
    ("expression", "names", "values"),
    [
        ("SET a = :a", {}, {":a": {"S": "x"}}),
        ("SET #a = :a REMOVE #b", {"#a": "a", "#b": "b"}, {":a": {"S": "x"}}),
        ("SET #a = #b", {"#a": "a", "#b": "b"}, {}),
        ("SET #a.#b = :a", {"#a": "a", "#b": "b"}, {":a": {"S": "x"}}),
        ("SET #a[0] = :a", {"#a": "a"}, {":a": {"S": "x"}}),
        ("SET #a = :a + :b", {"#a": "a"}, {":a": {"N": "1"}, ":b": {"N": "1"}}),
        ("SET #a = :a, #b = :b", {"#a": "a", "#b": "a"}, {":a": {"S": "x"}, ":b": {"S": "y"}}),
        ("SET #a = :a", {}, {":a": {"S": "x"}}),
        ("SET #a = :b", {"#a": "a"}, {":a": {"S": "x"}}),
        ("SET #a = :a", {"#a": "a"}, {":a": {"SS": []}}),
        ("ADD #a :a", {"#a": "a"}, {":a": {"N": "1"}}),
    ],
)
def test_anything_but_whole_attributes_set_by_placeholder_is_left_to_moto(
    expression: str, names: dict[str, str], values: dict[str, Any]
) -> None:
    assert plain_sets(expression, names, values) is None


def test_whole_attributes_set_by_placeholder_are_read_with_their_names_and_values() -> None:
    assert plain_sets(
        " set #a=:a ,  #b = :b ",
        {"#a": "text", "#b": "n"},
        {":a": {"S": "x"}, ":b": {"N": "2"}},
    ) == {"text": {"S": "x"}, "n": {"N": "2"}}

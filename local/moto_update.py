"""moto's UpdateItem, without its expression machinery for the update the product makes most.

The projector writes every view row with `SET #f0 = :f0, #f1 = :f1, ...` on a version condition,
three times a message. moto runs each through its update-expression validator, which walks the
expression's tree ten times, deep-copies the item twice and emits two stream records for a new
item: about 7 ms of the server's CPU per update on this machine, the largest share of a message.

An update that only sets whole top-level attributes by placeholder (`#name = :value`, any number,
each attribute once) is applied here directly, with DynamoDB's semantics: the condition is checked
on the item as it is, a missing item is created, the key cannot be set, an item that would pass
DynamoDB's size limit is refused whole (moto's own validator changed the item part-way, and for a
new item left the key-only item behind), and a change makes one stream record. Any other update,
and any such update moto would refuse (an unknown placeholder, a set value), goes to moto's own
code, which answers with moto's error.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any, Final

from moto.dynamodb.comparisons import create_condition_expression_parser
from moto.dynamodb.exceptions import ConditionalCheckFailed, ItemSizeToUpdateTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize

_ASSIGNMENT: Final = r"\s*(#[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)\s*"
_PLAIN_SETS: Final = re.compile(rf"\s*SET\s(?:{_ASSIGNMENT},)*{_ASSIGNMENT}", re.IGNORECASE)
_ONE_ASSIGNMENT: Final = re.compile(_ASSIGNMENT)
_SCALAR_AND_DOCUMENT_TYPES: Final = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L"})
# moto's own limit (LimitedSizeDict): DynamoDB's 400 KB, measured a little above that
ITEM_SIZE_LIMIT: Final = 405_000


def plain_sets(
    update_expression: str | None, names: dict[str, str], values: dict[str, Any]
) -> dict[str, dict[str, Any]] | None:
    """The attributes an update of whole attributes by placeholder sets, and their values; None
    for any other update, or one that names a placeholder it was not given or an attribute twice,
    or sets a value of a set type (moto decides what to say about those)."""
    if not update_expression or _PLAIN_SETS.fullmatch(update_expression) is None:
        return None
    assignments: dict[str, dict[str, Any]] = {}
    for placeholder, value_placeholder in _ONE_ASSIGNMENT.findall(update_expression):
        name, value = names.get(placeholder), values.get(value_placeholder)
        if name is None or value is None or name in assignments:
            return None
        if not isinstance(value, dict) or len(value) != 1:
            return None
        if next(iter(value)) not in _SCALAR_AND_DOCUMENT_TYPES:
            return None
        assignments[name] = value
    return assignments


def _applied_directly(
    backend: DynamoDBBackend,
    table_name: str,
    key: dict[str, Any],
    assignments: dict[str, dict[str, Any]],
    names: dict[str, str],
    values: dict[str, Any],
    condition_expression: str | None,
    return_values_on_condition_check_failure: str | None,
) -> Item | None:
    table: Table = backend.get_table(table_name)
    if table.hash_key_attr in assignments or table.range_key_attr in assignments:
        return None  # DynamoDB refuses to change a key; moto says so
    if set(key) != {table.hash_key_attr, *filter(None, [table.range_key_attr])}:
        return None
    hash_value, range_value = backend.get_keys_value(table, key)
    if hash_value.type != table.hash_key_type or (
        range_value is not None and range_value.type != table.range_key_type
    ):
        return None
    current = table.get_item(hash_value, range_value)
    condition = create_condition_expression_parser(condition_expression, names, values).parse()
    if not condition.expr(current):
        if return_values_on_condition_check_failure == "ALL_OLD" and current is not None:
            raise ConditionalCheckFailed(item=current.to_json()["Attributes"])
        raise ConditionalCheckFailed
    new = {name: DynamoType(value) for name, value in assignments.items()}
    if current is None:
        item = Item(hash_value, range_value, dict(key))
        table._validate_key_sizes(key)
    else:
        item = copy.deepcopy(current)
    kept = sum(bytesize(n) + v.size() for n, v in item.attrs.items() if n not in new)
    if kept + sum(bytesize(n) + v.size() for n, v in new.items()) > ITEM_SIZE_LIMIT:
        raise ItemSizeToUpdateTooLarge()
    for name, value in new.items():
        dict.__setitem__(item.attrs, name, value)  # the size was checked above, once
    if range_value is not None:
        table.items[hash_value][range_value] = item
    else:
        table.items[hash_value] = item  # type: ignore[assignment]
    if table.stream_shard is not None:
        table.stream_shard.add(current, item)
    return item


def plain_sets_directly(update_item: Callable[..., Any]) -> Callable[..., Any]:
    def _update_item(
        self: DynamoDBBackend,
        table_name: str,
        key: dict[str, Any],
        update_expression: str,
        expression_attribute_names: dict[str, Any],
        expression_attribute_values: dict[str, Any],
        attribute_updates: dict[str, Any] | None = None,
        expected: dict[str, Any] | None = None,
        condition_expression: str | None = None,
        return_values_on_condition_check_failure: str | None = None,
    ) -> Any:
        names, values = expression_attribute_names or {}, expression_attribute_values or {}
        assignments = None
        if not attribute_updates and not expected:
            assignments = plain_sets(update_expression, names, values)
        if assignments is not None:
            item = _applied_directly(
                self,
                table_name,
                key,
                assignments,
                names,
                values,
                condition_expression,
                return_values_on_condition_check_failure,
            )
            if item is not None:
                return item
        return update_item(
            self,
            table_name,
            key,
            update_expression,
            expression_attribute_names,
            expression_attribute_values,
            attribute_updates=attribute_updates,
            expected=expected,
            condition_expression=condition_expression,
            return_values_on_condition_check_failure=return_values_on_condition_check_failure,
        )

    return _update_item


UPDATE_PATCHES: Final = ((DynamoDBBackend, "update_item", plain_sets_directly),)
UPDATE_CALLED: Final = (
    (DynamoDBBackend, "get_table"),
    (DynamoDBBackend, "get_keys_value"),
    (Table, "get_item"),
    (Table, "_validate_key_sizes"),
)

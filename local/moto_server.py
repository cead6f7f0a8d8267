"""The local stage's moto server, with DynamoDB transactions made as atomic as AWS's.

moto applies a TransactWriteItems operation by operation, takes no lock, and snapshots every
table it touches with `copy.deepcopy` to roll back. Under concurrent clients two transactions can
then pass the same condition, and each transaction costs time proportional to the table's size.
AWS checks every condition first and applies all or nothing, atomically with respect to other
writes. Here: one lock around DynamoDB writes and transactional reads, and every condition evaluated
before any write, so a cancelled transaction leaves no item and no stream record; a write refused
on its own mid-way (item too large) is undone, stream records included. Clients still speak the
AWS wire protocol to moto's own HTTP application.

Costs that grow with data are cut as well: moto's Query reads and sorts the whole table to find
one partition (DynamoDB reads the partition only); its response serializer walks every attribute
value of every item through the service model (~0.5 ms an item, most of a Query's time), though
the values are already in their wire shape; it parses the same update expression twice per
request, and runs every update through a validator that walks its tree ten times (an update that
sets whole attributes, the projector's every write, is applied directly: local/moto_update.py);
EventBridge builds a JSONPath parser (grammar tables and all) for every path of every
target of every event; and its dispatcher lists its own package folder and a handler's methods on
every request. SQS FIFO queues keep a group in order when its messages come back
(local/moto_sqs.py).

DynamoDB throttles and cancels conflicting transactions now and then; given rates for them
(`--throttle`, `--transaction-conflict`, from local/chaos.py), so does this server.

DynamoDB acknowledges only durable writes, and so does this server when it is given a journal
(`--journal FILE --journal-table NAME`, as the local stage runs it for its events table): every
change to that table is appended to the file before the request is answered (see `Journal`).

The patches are written against moto 5.2 (pyproject.toml pins it): `PATCHES` lists every
(owner, attribute) they replace, and `install()` first checks that each of them, and each moto
attribute they call, is still there, failing with one message naming all that is missing before
anything is patched.

Its Cognito pools sign tokens with a key of the stage's (local/moto_cognito.py), never with the
one moto ships: `--cognito-key FILE` keeps it in FILE, made there the first time.

Run: `python -m local.moto_server --port 5000 [--journal FILE --journal-table NAME]
[--throttle RATE] [--transaction-conflict RATE] [--cognito-key FILE] [--credentials FILE]`
(binds 127.0.0.1). With `--credentials`, only requests signed with them are answered, as AWS
answers only signed requests (local/sigv4.py).
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import functools
import inspect
import itertools
import json
import logging
import os
import random
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import jsonpath_ng.ext
import moto
import moto.core.responses
from joserfc import jwk
from moto import backends
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ERROR_TYPE_PREFIX,
    ConditionalCheckFailed,
    DynamodbException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.models import DynamoDBStreamsBackend

from local.chaos import OFF, Chaos
from local.moto_cognito import cognito_patches, signing_key
from local.moto_http import KeepAliveMotoServer
from local.moto_process import signing_credentials
from local.moto_sqs import SQS_CALLED, SQS_PATCHES
from local.moto_update import UPDATE_CALLED, UPDATE_PATCHES
from local.quiet_gc import keep_collections_quiet

_LOCK = threading.RLock()
_MAX_TRANSACTION_ITEMS = 100


class _Installed:
    chaos: Chaos = OFF  # the failure modes install() was given


class _Writes:
    """The writers' lock (reentrant: a transaction's writes call the locked single writes). When
    its outermost holder lets go, the changes made meanwhile are journaled first, so a request's
    changes reach the journal before its answer is sent, in the order they were applied."""

    depth = 0  # of the thread holding _LOCK; only that thread reads or changes it
    journal: Journal | None = None  # set by install()

    def __enter__(self) -> None:
        _LOCK.acquire()
        self.depth += 1

    def __exit__(self, *_: object) -> None:
        try:
            self.depth -= 1
            if self.depth == 0 and self.journal is not None:
                self.journal.flush()
        finally:
            _LOCK.release()


_WRITES = _Writes()


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with _WRITES:
            return method(*args, **kwargs)

    return run


_partition = threading.local()


def _partition_only(table_all_items: Callable[[Table], Any]) -> Callable[[Table], list[Any]]:
    def _all_items(table: Table) -> list[Any]:
        """moto's Table.query reads (and sorts) every item of the table to find one partition's,
        so a query costs the whole table; DynamoDB reads just the partition. During a query on
        the table's own key, hand it that partition only (the query sorts it by range key)."""
        hash_key = getattr(_partition, "hash_key", None)
        if hash_key is None or table.range_key_attr is None:
            return table_all_items(table)  # type: ignore[no-any-return]
        return list(table.items.get(hash_key, {}).values())

    return _all_items


def _noting_partition(table_query: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(table_query)

    def _query(table: Table, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(table, *args, **kwargs).arguments
        _partition.hash_key = None if bound.get("index_name") else bound.get("hash_key")
        try:
            return table_query(table, *args, **kwargs)
        finally:
            _partition.hash_key = None

    return _query


def _item_key(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _condition_error(
    backend: DynamoDBBackend, op: dict[str, Any], key: dict[str, Any]
) -> tuple[str | None, str | None, dict[str, Any] | None]:
    condition = op.get("ConditionExpression")
    if condition is None:
        return (None, None, None)
    current = backend.get_item(op["TableName"], key)
    expression = get_filter_expression(
        condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )
    if expression.expr(current):
        return (None, None, None)
    old = None
    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
        old = current.to_json()["Attributes"]
    return ("ConditionalCheckFailed", "The conditional request failed", old)


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """All conditions first, then every write, under one lock: all or nothing, like AWS."""
    if len(transact_items) > _MAX_TRANSACTION_ITEMS:
        raise TooManyTransactionsException()
    chaos = _Installed.chaos
    if chaos.strikes("transaction_conflict"):  # another transaction holds the first item
        conflict = random.choice(_TRANSACTION_CANCELLATIONS)
        others = [(None, None, None)] * (len(transact_items) - 1)
        raise TransactionCanceledException([conflict, *others])
    with _WRITES:
        operations = []
        seen: set[tuple[str, str]] = set()
        for entry in transact_items:
            ((op_type, op),) = entry.items()
            key = _item_key(self, op_type, op)
            identity = (op["TableName"], str(sorted(key.items())))
            if identity in seen:
                raise MultipleTransactionsException()
            seen.add(identity)
            operations.append((op_type, op, key))
        errors = [_condition_error(self, op, key) for _, op, key in operations]
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        # Copies of the attributes: moto's update_item changes its item objects in place.
        before = [
            (op["TableName"], key, _attributes(self.get_item(op["TableName"], key)))
            for _, op, key in operations
        ]
        shards = {name: self.get_table(name).stream_shard for name, _, _ in before}
        marks = {name: len(shard.items) for name, shard in shards.items() if shard is not None}
        journal = _WRITES.journal
        journaled = journal.mark() if journal is not None else 0
        try:
            _write_all(self, operations)
        except Exception:
            # A write refused on its own (item too large, bad type): put back what was there and
            # drop the stream records and journal entries written since, so the transaction stays
            # all or nothing.
            for table, key, item in before:
                if item is None:
                    self.delete_item(table, key)
                else:
                    self.put_item(table, item)
            for name, mark in marks.items():
                del shards[name].items[mark:]  # type: ignore[union-attr]
            if journal is not None:
                journal.forget_since(journaled)
            raise


def _attributes(item: Any) -> dict[str, Any] | None:
    return None if item is None else dict(item.to_json()["Attributes"])


def _forgetting_iterators(streams_get_records: Callable[..., Any]) -> Callable[..., Any]:
    def _get_records(self: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> Any:
        """GetRecords, under the writers' lock (a rolled-back transaction's records are never
        seen), forgetting the iterator it used: moto keeps every iterator forever, and a reader
        polling an idle stream makes a new one each time. Readers always go on with
        NextShardIterator."""
        with _LOCK:
            answer = streams_get_records(self, iterator_arn, limit)
            self.shard_iterators.pop(iterator_arn, None)
            return answer

    return _get_records


def _write_all(
    self: DynamoDBBackend, operations: list[tuple[str, dict[str, Any], dict[str, Any]]]
) -> None:
    for op_type, op, key in operations:
        names = op.get("ExpressionAttributeNames") or {}
        values = op.get("ExpressionAttributeValues") or {}
        if op_type == "Put":
            self.put_item(op["TableName"], op["Item"])
        elif op_type == "Delete":
            self.delete_item(op["TableName"], key)
        elif op_type == "Update":
            self.update_item(
                op["TableName"],
                key,
                update_expression=op["UpdateExpression"],
                expression_attribute_names=names,
                expression_attribute_values=values,
            )


# --- the journal: durable acknowledgements --------------------------------------------------------

REMOVED = "REMOVE"  # {"REMOVE": key}: the item with this key is gone
TOGETHER = "TRANSACTION"  # {"TRANSACTION": [change, ...]}: changes applied together, or not at all


class Journal:
    """One table's items, kept in a file of JSON lines as they change: DynamoDB answers a write
    only once it is durable, and so does this server for the journaled table.

    Each write that changed the table (a BatchWriteItem is a write per item) appends one line
    before it is answered and before the writers' lock is let go, so lines are in the order the
    changes were applied, and no reader (reads take the lock too) sees a change that is not yet in
    the file. A line is the item as the write left it, in DynamoDB's JSON (`{"pk": {"S": ...},
    "sk": {"N": ...}, ...}`), or `{"REMOVE": key}`, or for a transaction that changed several items
    `{"TRANSACTION": [those, ...]}`, on one line so that it is kept whole or not at all (those
    two have one attribute; an item of a table with a range key has at least two). The line is
    written with one buffered write and flushed to the kernel: from then on a SIGKILL of any
    process, this one included, cannot lose it; only the machine going down could (that would take
    an fsync per write, which DynamoDB's own durability would deserve but a local stage does not).
    A process killed while writing leaves a last line cut short: that write was never answered,
    and reading skips it.

    What a line records is the item as it is once the write is done, whichever path changed it
    (PutItem, UpdateItem, DeleteItem, BatchWriteItem, transactions, PartiQL, or anything deleting
    through the table such as a TTL sweep; moto 5.2 expires nothing by TTL): the hooks only note
    which keys changed. A cancelled transaction changes nothing and writes nothing; one undone
    mid-way forgets what it noted.

    When the table is created the saved items are put into it (without stream records: they are
    not new changes) and the file is compacted to them; a clean stop of the server compacts it
    again."""

    def __init__(self, path: Path, table_name: str) -> None:
        self.path = Path(path)
        self.table_name = table_name
        self.table: Table | None = None
        self.pending: dict[tuple[DynamoType, DynamoType | None], None] = {}  # in order of change
        self._out: IO[bytes] | None = None
        self._owner: IO[bytes] | None = None

    # --- under the writers' lock -----------------------------------------------------------------

    def note(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        if table is self.table:
            self.pending[(hash_key, range_key)] = None

    def note_key(self, table_name: str, key: dict[str, Any]) -> None:
        table = self.table
        if table is None or table_name != self.table_name or table.hash_key_attr not in key:
            return
        range_value = key.get(table.range_key_attr) if table.range_key_attr else None
        if table.range_key_attr and range_value is None:
            return
        hash_key = DynamoType(key[table.hash_key_attr])
        self.note(table, hash_key, None if range_value is None else DynamoType(range_value))

    def mark(self) -> int:
        return len(self.pending)

    def forget_since(self, mark: int) -> None:
        self.pending = dict(itertools.islice(self.pending.items(), mark))

    def flush(self) -> None:
        """One line for what the finished request changed, written and handed to the kernel."""
        if not self.pending:
            return
        try:
            table, out = self.table, self._out
            assert table is not None and out is not None
            changes = [self._change(table, *key) for key in self.pending]
            out.write(_line(changes[0] if len(changes) == 1 else {TOGETHER: changes}))
            out.flush()  # to the kernel (not the disk): see the class's docstring
        except BaseException:
            # The write is applied in memory but not saved: answering it (or serving another
            # request that reads it) would acknowledge what a restart loses. Stop here instead;
            # the client sees no answer, as when DynamoDB fails before acknowledging.
            logging.getLogger("local.moto_server").exception("journal: a write was not saved")
            os._exit(70)
        self.pending = {}

    def own(self) -> None:
        """Hold the journal for this process's life: a second server on the same file (another
        stage on the same folder, or a stage's orphaned server) would lose the other's writes
        when either compacts it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._owner = self.path.with_name(self.path.name + ".lock").open("ab")
        try:
            fcntl.flock(self._owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(
                f"{self.path} is in use by another local stage's DynamoDB (stop it first)"
            ) from None

    def attach(self, table: Table) -> int:
        """The saved items into the new table, then the file compacted to them."""
        self.close()
        for image in self._saved(table).values():
            item = Item(*_key_of(table, image), image)
            if table.range_key_attr is None:
                table.items[item.hash_key] = item  # type: ignore[assignment]
            else:
                table.items[item.hash_key][item.range_key] = item
        self.table = table
        return self.compact()

    def compact(self) -> int:
        """The table's items, written to a new file that then replaces the journal (a process
        killed meanwhile leaves the journal as it was); later changes go to the new file."""
        assert self.table is not None
        items = self.table.all_items()
        self._replace_with(_line(_image(item)) for item in items)
        self._out = self.path.open("ab")
        return len(items)

    def forget_table(self) -> None:
        """The table was deleted: so are its items, here as in DynamoDB (a table created again
        under the name starts empty)."""
        self._replace_with(())
        self.table = None

    def _replace_with(self, lines: Iterable[bytes]) -> None:
        """A new journal of these lines, on disk before it replaces the old one (or a crash
        could leave neither)."""
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("wb") as out:
            for line in lines:
                out.write(line)
            out.flush()
            os.fsync(out.fileno())
        self.close()
        partial.replace(self.path)
        _sync_folder(self.path.parent)

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    # --- reading ----------------------------------------------------------------------------------

    def _saved(self, table: Table) -> dict[tuple[DynamoType, DynamoType | None], dict[str, Any]]:
        """The items as the saved lines leave them: later lines replace or remove earlier ones."""
        items: dict[tuple[DynamoType, DynamoType | None], dict[str, Any]] = {}
        if not self.path.exists():
            return items
        with self.path.open("rb") as saved:
            for line in saved:
                try:
                    entry = json.loads(line)
                except ValueError:  # cut short by a kill: that request was never answered
                    continue
                for change in entry[TOGETHER] if _only(entry, TOGETHER) else [entry]:
                    if _only(change, REMOVED):
                        items.pop(_key_of(table, change[REMOVED]), None)
                    else:
                        items[_key_of(table, change)] = change
        return items

    @staticmethod
    def _change(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Any:
        item = table.get_item(hash_key, range_key)
        if item is not None:
            return _image(item)
        key = {table.hash_key_attr: hash_key.to_json()}
        if table.range_key_attr is not None and range_key is not None:
            key[table.range_key_attr] = range_key.to_json()
        return {REMOVED: key}


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)  # the rename itself, on disk
    finally:
        os.close(descriptor)


def _only(entry: Any, word: str) -> bool:
    return isinstance(entry, dict) and len(entry) == 1 and word in entry


def _line(entry: Any) -> bytes:
    return json.dumps(entry, separators=(",", ":")).encode() + b"\n"


def _key_of(table: Table, image: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
    range_attr = table.range_key_attr
    return DynamoType(image[table.hash_key_attr]), (
        None if range_attr is None else DynamoType(image[range_attr])
    )


def _image(item: Item) -> dict[str, Any]:
    return {name: _plain(value) for name, value in item.attrs.items()}


def _plain(value: Any) -> Any:
    """An attribute value in DynamoDB's JSON (binaries base64-encoded, as moto keeps them)."""
    if not isinstance(value, DynamoType):
        return value
    if value.type == "M":
        return {"M": {name: _plain(member) for name, member in value.value.items()}}
    if value.type == "L":
        return {"L": [_plain(member) for member in value.value]}
    if value.type == "BS":
        return {"BS": [_base64(member) for member in value.value]}
    return value.to_json()


def _base64(value: str | bytes) -> str:
    return value if isinstance(value, str) else base64.b64encode(value).decode()


def _noted(table: Table, item: Item) -> None:
    if _WRITES.journal is not None:
        _WRITES.journal.note(table, item.hash_key, item.range_key)


def _journaling_put(table_put_item: Callable[..., Any]) -> Callable[..., Any]:
    def _put_item(table: Table, *args: Any, **kwargs: Any) -> Any:
        with _WRITES:
            item = table_put_item(table, *args, **kwargs)
            _noted(table, item)
            return item

    return _put_item


def _journaling_delete(table_delete_item: Callable[..., Any]) -> Callable[..., Any]:
    def _delete_item(table: Table, *args: Any, **kwargs: Any) -> Any:
        with _WRITES:
            item = table_delete_item(table, *args, **kwargs)
            if item is not None:  # None: there was nothing to delete
                _noted(table, item)
            return item

    return _delete_item


def _journaling_update(update_item: Callable[..., Any]) -> Callable[..., Any]:
    def _update_item(
        self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        """moto updates the stored item in place (Table.put_item is not involved unless the item
        is new), so the key is noted here: when the update is done, or when it failed part-way
        (moto may have changed part of the item); a failed condition changed nothing."""
        with _WRITES:
            changed = True
            try:
                return update_item(self, table_name, key, *args, **kwargs)
            except ConditionalCheckFailed:
                changed = False
                raise
            finally:
                if changed and _WRITES.journal is not None:
                    _WRITES.journal.note_key(table_name, key)

    return _update_item


def _loading_journal(create_table: Callable[..., Any]) -> Callable[..., Any]:
    def _create_table(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        table = create_table(self, *args, **kwargs)
        journal = _WRITES.journal
        if journal is not None and table.name == journal.table_name:
            with _WRITES:
                journal.attach(table)
        return table

    return _create_table


def _forgetting_journal(delete_table: Callable[..., Any]) -> Callable[..., Any]:
    def _delete_table(self: DynamoDBBackend, name: str) -> Any:
        with _WRITES:
            table = delete_table(self, name)
            journal = _WRITES.journal
            if journal is not None and journal.table is not None and name == journal.table_name:
                journal.forget_table()
            return table

    return _delete_table


_ATTRIBUTE_VALUE_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
_SCALARS = frozenset({"S", "N", "BOOL", "NULL"})


def _as_wire_values(json_structure: Callable[..., None]) -> Callable[..., None]:
    def _serialize_structure(
        self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str
    ) -> None:
        """An AttributeValue goes out as it is (binaries base64-encoded, as the model would)."""
        if (
            key
            and shape.name == "AttributeValue"
            and self.operation_model.service_model.service_name in _ATTRIBUTE_VALUE_SERVICES
        ):
            wire = _wire_value(self, value)
            if wire is not None:
                self._default_serialize(serialized, wire, shape, key)
                return
        json_structure(self, serialized, value, shape, key)

    return _serialize_structure


def _wire_value(self: BaseJSONSerializer, value: Any) -> dict[str, Any] | None:
    """The JSON of one AttributeValue; None for anything not of its shape (the model decides)."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind in _SCALARS:
        return {kind: str(inner) if kind in ("S", "N") else inner}
    if kind in ("SS", "NS"):
        return {kind: [str(member) for member in inner]}
    if kind == "B":
        return {kind: self._base64(inner)}
    if kind == "BS":
        return {kind: [self._base64(member) for member in inner]}
    if kind == "M":
        members = {name: _wire_value(self, member) for name, member in inner.items()}
        return None if None in members.values() else {kind: members}
    if kind == "L":
        elements = [_wire_value(self, member) for member in inner]
        return None if None in elements else {kind: elements}
    return None


MOTO_WRITTEN_FOR = "5.2"  # pyproject.toml pins moto to this minor version
_LOCKED_METHODS = ("put_item", "update_item", "delete_item", "get_item", "query", "scan")

Patch = tuple[Any, str, Callable[[Any], Any]]  # owner, attribute, moto's own -> replacement

# Everything install() replaces, in order; the check and the patching both read this list.
PATCHES: tuple[Patch, ...] = (
    # moto lists its package folder on every request, under the dispatcher's lock, and lists a
    # handler class's methods (inspect.getmembers) to find each request's action.
    (backends, "list_of_moto_modules", lambda own: functools.cache(lambda: tuple(own()))),
    (moto.core.responses, "method_names_from_class", functools.cache),
    (BaseJSONSerializer, "_serialize_type_structure", _as_wire_values),
    # A parsed JSONPath is only used to find values; moto imports `parse` at each call.
    (jsonpath_ng.ext, "parse", functools.lru_cache(256)),
    # Its result is only ever read (validators deep-copy it first), so one parse per expression.
    (UpdateExpressionParser, "make", lambda own: staticmethod(functools.lru_cache(1024)(own))),
    *UPDATE_PATCHES,  # before the lock goes around update_item
    *((DynamoDBBackend, name, _locked) for name in _LOCKED_METHODS),
    (DynamoDBStreamsBackend, "get_records", _forgetting_iterators),
    (Table, "all_items", _partition_only),
    (Table, "query", _noting_partition),
    (DynamoDBBackend, "transact_write_items", lambda _: transact_write_items),
    (DynamoHandler, "transact_get_items", _locked),
    *SQS_PATCHES,
)
# Installed with a journal only; every change to a table goes through one of these.
JOURNAL_PATCHES: tuple[Patch, ...] = (
    (Table, "put_item", _journaling_put),
    (Table, "delete_item", _journaling_delete),
    (DynamoDBBackend, "update_item", _journaling_update),
    (DynamoDBBackend, "create_table", _loading_journal),
    (DynamoDBBackend, "delete_table", _forgetting_journal),
)
# What the replacements call on moto besides what they replace.
CALLED: tuple[tuple[Any, str], ...] = (
    (DynamoDBBackend, "get_table"),
    (Table, "get_item"),
    (Table, "all_items"),
    (BaseJSONSerializer, "_default_serialize"),
    (BaseJSONSerializer, "_base64"),
    *SQS_CALLED,
    *UPDATE_CALLED,
)


_TRANSACTION_CANCELLATIONS = (
    ("TransactionConflict", "Transaction is ongoing for the item", None),
    ("ThrottlingError", "Throughput exceeds the current capacity of your table or index.", None),
)
_THROTTLES = (
    (
        "ThrottlingException",
        "Throughput exceeds the current capacity for one or more global secondary indexes.",
    ),
    (
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    ),
)
_THROTTLED_ACTIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
    "transact_write_items",
)


def _throttled(action: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(action)
    def run(handler: DynamoHandler, *args: Any, **kwargs: Any) -> Any:
        """Refused before anything is read or written, as a throttled request is."""
        if _Installed.chaos.strikes("throttle"):
            code, message = random.choice(_THROTTLES)
            raise DynamodbException(ERROR_TYPE_PREFIX + code, message)
        return action(handler, *args, **kwargs)

    return run


# Installed when DynamoDB is to throttle (local/chaos.py).
CHAOS_PATCHES: tuple[Patch, ...] = tuple(
    (DynamoHandler, action, _throttled) for action in _THROTTLED_ACTIONS
)


class MotoChanged(RuntimeError):
    """The installed moto lacks something the patches replace or call."""


def _name(owner: Any, attribute: str) -> str:
    if inspect.ismodule(owner):
        return f"{owner.__name__}.{attribute}"
    return (
        f"{getattr(owner, '__module__', '?')}.{getattr(owner, '__qualname__', owner)}.{attribute}"
    )


def missing(targets: Iterable[tuple[Any, str]]) -> list[str]:
    """The targets (owner, attribute) that the owner no longer has, by their full names."""
    return [
        _name(owner, attribute) for owner, attribute in targets if not hasattr(owner, attribute)
    ]


def targets(patches: Iterable[Patch] = PATCHES) -> list[tuple[Any, str]]:
    """What must be there for the patches: everything they replace, and what they call."""
    return [*((owner, attribute) for owner, attribute, _ in patches), *CALLED]


def check(targets: Iterable[tuple[Any, str]]) -> None:
    """Fails, naming all of them in one message, if any target is gone from moto."""
    gone = missing(targets)
    if gone:
        raise MotoChanged(
            f"local/moto_server.py was written for moto {MOTO_WRITTEN_FOR}.x, and the installed "
            f"moto {moto.__version__} has no {', '.join(gone)}. Pin moto[server] to "
            f"{MOTO_WRITTEN_FOR}.x in pyproject.toml, or port the patches to this moto."
        )


def install(
    journal: Journal | None = None, chaos: Chaos = OFF, cognito_key: jwk.RSAKey | None = None
) -> None:
    """Patch moto in this process (the server's, never a client's), with the journal's hooks when
    there is one, throttling when `chaos` asks for it, and Cognito signing with `cognito_key` (a
    fresh key when none is given: never moto's own); nothing is patched unless every target of
    them all is there."""
    signing = cognito_patches(cognito_key or signing_key(None))
    check(targets((*PATCHES, *JOURNAL_PATCHES, *CHAOS_PATCHES, *signing)))
    chosen = (
        *PATCHES,
        *signing,
        *(JOURNAL_PATCHES if journal else ()),
        *(CHAOS_PATCHES if chaos.throttle else ()),
    )
    for owner, attribute, replace in chosen:
        setattr(owner, attribute, replace(getattr(owner, attribute)))
    _WRITES.journal = journal
    _Installed.chaos = chaos


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--journal", type=Path, help="file that keeps the journaled table")
    parser.add_argument("--journal-table", help="the DynamoDB table the journal keeps")
    parser.add_argument("--throttle", type=float, default=0.0, help="share of requests throttled")
    parser.add_argument(
        "--transaction-conflict",
        type=float,
        default=0.0,
        help="share of TransactWriteItems cancelled by a conflict",
    )
    parser.add_argument(
        "--cognito-key", type=Path, help="the pools' signing key (JWK), made there if missing"
    )
    parser.add_argument(
        "--credentials",
        type=Path,
        help="the only AWS credentials requests may be signed with (local/sigv4.py); any without",
    )
    args = parser.parse_args(argv)
    if bool(args.journal) != bool(args.journal_table):
        parser.error("--journal and --journal-table go together")
    journal = Journal(args.journal, args.journal_table) if args.journal else None
    if journal is not None:
        journal.own()
    install(
        journal,
        Chaos(throttle=args.throttle, transaction_conflict=args.transaction_conflict),
        signing_key(args.cognito_key),
    )
    server = KeepAliveMotoServer(args.port, signing_credentials(args.credentials))
    server.start()
    keep_collections_quiet()
    host, port = server.get_host_and_port()
    print(f"moto listening on http://{host}:{port}", flush=True)
    stopped = threading.Event()
    # Ctrl-C in a terminal reaches the whole process group: the stage that started this server
    # stops it (SIGTERM) after saving what it needs from it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    parent = os.getppid()
    # A stage killed on its own (not its process group) leaves this server orphaned: it stops
    # too, as cleanly as when told, instead of holding the journal from the next stage.
    while not stopped.wait(1.0) and os.getppid() == parent:
        pass
    if journal is not None and journal.table is not None:
        with _WRITES:
            journal.compact()  # a clean stop leaves the table's items, one line each
    server.stop()
    sys.stdout.flush()
    os._exit(0)  # not waiting for the WSGI adapter's worker threads (a long poll's wait)


if __name__ == "__main__":
    main()

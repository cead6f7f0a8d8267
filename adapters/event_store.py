"""The event log on DynamoDB.

Items of the events table (`pk` string, `sk` number):
- event: `pk` = stream (`room#<id>`, `read#<user>#<room>`), `sk` = version 1, 2, 3 ...; type, v,
  at, actor, event_id, command_id, data (msgspec JSON).
- stream head: `sk` = 0 of the stream; version, and the rules' state after it.
- command record: `cmd#<actor>#<client id>`, `sk` = 0; what the command wrote (kept 7 days).
- tombstone: `tomb#<room>#<seq>`, `sk` = 0; the message at seq was deleted.
- membership: `member#<room>#<user>`, `sk` = 0; present while the user belongs to the room. The
  head holds only the member count, so its size (and a send's write cost) does not grow with the
  room; a decision loads the memberships it concerns (the actor's, an invitee's).

An append is one TransactWriteItems: every event `attribute_not_exists` (the log is immutable), the
head conditional on the version the decision was made from (optimistic concurrency per stream), the
command record `attribute_not_exists` (a retry never writes twice) and a tombstone per deletion.
Loading what a command needs is one consistent read of those same items (transactional when a
message's state is involved), so a command costs two calls whatever the length of the stream.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any, Final, NoReturn

import msgspec
from botocore.exceptions import ClientError

from adapters.aws import client
from adapters.event_codec import Item, from_event_item, is_event_item, to_event_item
from application.ports import (
    Append,
    CommandRecord,
    DuplicateCommand,
    Loaded,
    LoadRequest,
    Throttled,
    VersionConflict,
)
from domain.events import (
    Envelope,
    MessageCreated,
    MessageDeleted,
    RoomCreated,
    UserJoined,
    UserLeft,
)
from domain.ids import (
    command_item,
    membership_item,
    room_stream,
    stream_entity,
    tombstone_item,
)
from domain.rooms import MessageState, ReaderState, RoomState

RECORD_TTL_SECONDS: Final = 7 * 24 * 3600
SCAN_SEGMENTS: Final = 4
_HEAD: Final = {"N": "0"}
_DONE = object()


def _key(pk: str, sk: int = 0) -> Item:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def _membership_items(table: str, append: Append) -> list[Item]:
    """Membership puts and deletes for the events, each conditional on the state the decision saw,
    and a check that every other member it relied on still is one."""
    writes: dict[str, Item] = {}
    for envelope in append.events:
        event, room_id = envelope.data, stream_entity(envelope.stream)
        since = {"since": {"N": str(envelope.version)}}
        if isinstance(event, RoomCreated | UserJoined):
            users = event.members if isinstance(event, RoomCreated) else (event.user_id,)
            for user in users:
                writes[user] = {
                    "Put": {
                        "TableName": table,
                        "Item": {**_key(membership_item(room_id, user)), **since},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
        elif isinstance(event, UserLeft):
            writes[event.user_id] = {
                "Delete": {
                    "TableName": table,
                    "Key": _key(membership_item(append.room_id, event.user_id)),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            }
    checks = [
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": _key(membership_item(append.room_id, user)),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        for user in sorted(append.members - writes.keys())
    ]
    return [*writes.values(), *checks]


class DynamoEventStore:
    def __init__(
        self, table: str, dynamodb: Any = None, scan_segments: int = SCAN_SEGMENTS
    ) -> None:
        self.table = table
        self.dynamodb = dynamodb or client("dynamodb")
        self.scan_segments = scan_segments
        self.calls = 0  # DynamoDB requests made, for the benchmarks

    # --- commands -------------------------------------------------------------------------------

    def load(self, request: LoadRequest) -> Loaded:
        wanted: list[tuple[str, Item]] = []
        if request.room_stream:
            wanted.append(("room", _key(request.room_stream)))
        if request.reader_stream:
            wanted.append(("reader", _key(request.reader_stream)))
        if request.command_key:
            wanted.append(("record", _key(command_item(request.command_key))))
        if request.room_stream:
            room_id = stream_entity(request.room_stream)
            wanted.extend(
                (f"member:{user}", _key(membership_item(room_id, user))) for user in request.members
            )
        seq = request.message_seq
        if request.room_stream and seq is not None and seq > 0:
            wanted.append(("message", _key(request.room_stream, seq)))
            if not request.at_or_before:  # a read marker counts deleted messages too
                wanted.append(
                    ("tomb", _key(tombstone_item(stream_entity(request.room_stream), seq)))
                )
        if not wanted:
            return Loaded()
        found = self._get(wanted, atomic="tomb" in dict(wanted))
        room = _state(found.get("room"), RoomState)
        if room is not None:
            members = frozenset(user for user in request.members if f"member:{user}" in found)
            room = msgspec.structs.replace(room, members=members)
        message = _message(found.get("message"), deleted="tomb" in found)
        if (
            message is None
            and request.at_or_before
            and room is not None
            and request.room_stream
            and seq is not None
            and 0 < seq < room.last_message_seq
        ):
            message = self._message_at_or_before(request.room_stream, seq)
        return Loaded(
            room, _state(found.get("reader"), ReaderState), message, _record(found.get("record"))
        )

    def _get(self, wanted: list[tuple[str, Item]], atomic: bool) -> dict[str, Item]:
        """Read items consistently. A message's state must be read in one snapshot with its
        room's head (a deletion between the two reads could otherwise let an edit through), so
        that read is transactional; a head and a command record need no snapshot, since the head's
        version condition at append time rejects any decision made on a stale read, and a batch
        read costs half the capacity of a transactional one."""
        self.calls += 1
        if atomic:
            try:
                response = self.dynamodb.transact_get_items(
                    TransactItems=[
                        {"Get": {"TableName": self.table, "Key": key}} for _, key in wanted
                    ]
                )
            except ClientError as error:
                _raise_cancelled(error, None)  # a write in flight on these items: load again
            return {
                name: got["Item"]
                for (name, _), got in zip(wanted, response["Responses"], strict=True)
                if got.get("Item")
            }
        names = {(key["pk"]["S"], key["sk"]["N"]): name for name, key in wanted}
        pending: dict[str, Any] = {
            self.table: {"Keys": [key for _, key in wanted], "ConsistentRead": True}
        }
        found: dict[str, Item] = {}
        while pending:
            response = self.dynamodb.batch_get_item(RequestItems=pending)
            for item in response["Responses"].get(self.table, []):
                found[names[(item["pk"]["S"], item["sk"]["N"])]] = item
            pending = response.get("UnprocessedKeys") or {}
        return found

    def _message_at_or_before(self, stream: str, seq: int) -> MessageState | None:
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :one AND :seq",
            FilterExpression="#type = :created",
            ExpressionAttributeNames={"#type": "type"},
            ExpressionAttributeValues={
                ":pk": {"S": stream},
                ":one": {"N": "1"},
                ":seq": {"N": str(seq)},
                ":created": {"S": "message.created"},
            },
            ScanIndexForward=False,
            ConsistentRead=True,
            PaginationConfig={"PageSize": 50},
        )
        for page in pages:
            self.calls += 1
            for item in page["Items"]:
                return _message(item, deleted=False)
        return None

    def append(self, append: Append) -> None:
        items: list[Item] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_event_item(envelope),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for envelope in append.events
        ]
        state = append.head
        if isinstance(state, RoomState):
            state = msgspec.structs.replace(state, members=frozenset())  # kept as items instead
        head = {
            **_key(append.stream),
            "version": {"N": str(append.head.version)},
            "state": {"S": msgspec.json.encode(state).decode()},
        }
        head_put: Item = {"TableName": self.table, "Item": head}
        if append.expected == 0:
            head_put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            head_put["ConditionExpression"] = "version = :expected"
            head_put["ExpressionAttributeValues"] = {":expected": {"N": str(append.expected)}}
        items.append({"Put": head_put})
        record_index = None
        if append.record is not None:
            record_index = len(items)
            items.append({"Put": _record_put(self.table, append.record)})
        items.extend(_membership_items(self.table, append))
        for envelope in append.events:
            if isinstance(envelope.data, MessageDeleted):
                tomb = {
                    **_key(tombstone_item(stream_entity(append.stream), envelope.data.seq)),
                    "at": {"S": envelope.at},
                }
                items.append({"Put": {"TableName": self.table, "Item": tomb}})
        self.calls += 1
        try:
            self.dynamodb.transact_write_items(TransactItems=items)
        except ClientError as error:
            _raise_cancelled(error, record_index)

    # --- reads ----------------------------------------------------------------------------------

    def read_stream(self, stream: str, after: int = 0, upto: int | None = None) -> list[Envelope]:
        if upto is not None and upto <= max(after, 0):
            return []  # DynamoDB refuses a BETWEEN whose bounds are the wrong way round
        upper = upto if upto is not None else 2**53
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": {"S": stream},
                ":low": {"N": str(max(after, 0) + 1)},
                ":high": {"N": str(upper)},
            },
            ConsistentRead=True,
        )
        return [from_event_item(item) for page in pages for item in page["Items"]]

    def room_state(self, room_id: str) -> RoomState | None:
        """The rules' current view of a room, read consistently (for authorizing reads)."""
        loaded = self.load(LoadRequest(room_stream=room_stream(room_id)))
        return loaded.room

    def scan_items(self) -> Iterator[Item]:
        """Every event item of the log, read by parallel segments, in no particular order."""
        out: queue.Queue[Any] = queue.Queue(maxsize=64)

        def segment(number: int) -> None:
            try:
                pages = self.dynamodb.get_paginator("scan").paginate(
                    TableName=self.table,
                    Segment=number,
                    TotalSegments=self.scan_segments,
                    FilterExpression="sk > :head",
                    ExpressionAttributeValues={":head": _HEAD},
                )
                for page in pages:
                    out.put(page["Items"])
            except Exception as error:  # surfaced to the reader below
                out.put(error)
            finally:
                out.put(_DONE)

        threads = [
            threading.Thread(target=segment, args=(n,), daemon=True)
            for n in range(self.scan_segments)
        ]
        for thread in threads:
            thread.start()
        running = len(threads)
        while running:
            got = out.get()
            if got is _DONE:
                running -= 1
            elif isinstance(got, Exception):
                raise got
            else:
                yield from (item for item in got if is_event_item(item))

    def scan(self) -> Iterator[Envelope]:
        return (from_event_item(item) for item in self.scan_items())


def _state(item: Item | None, kind: type[Any]) -> Any:
    if item is None:
        return None
    return msgspec.json.decode(item["state"]["S"], type=kind)


def _message(item: Item | None, deleted: bool) -> MessageState | None:
    if item is None or item.get("type", {}).get("S") != "message.created":
        return None
    envelope = from_event_item(item)
    assert isinstance(envelope.data, MessageCreated)
    return MessageState(
        envelope.version,
        envelope.data.n,
        envelope.actor,
        has_attachments=bool(envelope.data.attachments),
        deleted=deleted,
    )


def _record(item: Item | None) -> CommandRecord | None:
    if item is None:
        return None
    return msgspec.json.decode(item["record"]["S"], type=CommandRecord)


def _record_put(table: str, record: CommandRecord) -> Item:
    return {
        "TableName": table,
        "Item": {
            **_key(command_item(record.key)),
            "record": {"S": msgspec.json.encode(record).decode()},
            "expires_at": {"N": str(int(time.time()) + RECORD_TTL_SECONDS)},
        },
        "ConditionExpression": "attribute_not_exists(pk)",
    }


def _raise_cancelled(error: ClientError, record_index: int | None) -> NoReturn:
    """Turn a cancelled transaction into the application's terms, or re-raise."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        raise error
    reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
    if record_index is not None and reasons[record_index : record_index + 1] == [
        "ConditionalCheckFailed"
    ]:
        raise DuplicateCommand() from error
    if any(code in {"ConditionalCheckFailed", "TransactionConflict"} for code in reasons):
        raise VersionConflict() from error
    if any(code in {"ThrottlingError", "ProvisionedThroughputExceeded"} for code in reasons):
        raise Throttled() from error
    raise error

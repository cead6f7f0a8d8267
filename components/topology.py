"""The system's shape as plain data: the Pulumi components and the local stage both read it.

Tables, buckets, queues, functions (handler, settings, what each may touch) and triggers (HTTP
routes, WebSocket routes and their authorizer, the stream mapping, EventBridge rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

# "append": read, put and condition-check items, never update one; delete only items in the
# partitions the table names as deletable (`Table.deletable_key_prefixes`).
Access = Literal["read", "write", "append"]

KeyType = Literal["S", "N"]


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType


@dataclass(frozen=True)
class Table:
    name: str  # logical name; the deployed name is "<prefix>-<name>"
    hash_key: Key
    range_key: Key
    stream: Literal["NEW_IMAGE"] | None = None
    ttl_attribute: str | None = None
    point_in_time_recovery: bool = True
    env_var: str = ""
    purpose: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    # Under "append" access: the partition key prefixes whose items may be deleted.
    deletable_key_prefixes: tuple[str, ...] = ()


EVENTS = Table(
    name="events",
    hash_key=Key("pk", "S"),
    range_key=Key("sk", "N"),
    stream="NEW_IMAGE",
    ttl_attribute="expires_at",
    env_var="EVENTS_TABLE",
    purpose="the event log (sk >= 1) and its bookkeeping items (sk = 0): stream heads, "
    "command records, message tombstones, memberships",
    # A leave deletes the membership item (domain/ids.py membership_item); nothing else is ever
    # deleted or updated, so the functions that append may do nothing else.
    deletable_key_prefixes=("member#",),
)

VIEWS = Table(
    name="views",
    hash_key=Key("pk", "S"),
    range_key=Key("sk", "S"),
    env_var="VIEWS_TABLE",
    purpose="read models projected from the log: rooms, members, messages, inboxes",
)

CONNECTIONS = Table(
    name="connections",
    hash_key=Key("pk", "S"),
    range_key=Key("sk", "S"),
    ttl_attribute="expires_at",
    point_in_time_recovery=False,
    env_var="CONNECTIONS_TABLE",
    purpose="open WebSocket connections: one item per user (pk = user#<id>, sk = open) with an "
    "attribute c#<connection id> = expiry per open connection (the 2-hour limit)",
)

RATE_LIMITS = Table(
    name="rate-limits",
    hash_key=Key("pk", "S"),
    range_key=Key("sk", "S"),
    ttl_attribute="expires_at",
    point_in_time_recovery=False,
    env_var="RATE_LIMITS_TABLE",
    purpose="per-user rate limits (domain/rate_limits.py): one item per user and limit (pk = "
    "user#<id>, sk = the limit's name) holding its bucket's theoretical arrival time",
)

TABLES: tuple[Table, ...] = (EVENTS, VIEWS, CONNECTIONS, RATE_LIMITS)


def physical_name(prefix: str, table: Table) -> str:
    return f"{prefix}-{table.name}"


@dataclass(frozen=True)
class Bucket:
    name: str  # logical; deployed as "<prefix>-<name>"
    purpose: str
    env_var: str
    key_prefix: str = ""  # functions reach only keys under this prefix
    browser_uploads: bool = False  # CORS for presigned POST forms from the web client


FILES = Bucket(
    "files",
    "shared files, private, keys under rooms/<room_id>/",
    "FILES_BUCKET",
    key_prefix="rooms/",
    browser_uploads=True,
)

BUCKETS: tuple[Bucket, ...] = (FILES,)


@dataclass(frozen=True)
class Function:
    name: str
    handler: str  # "module.path.function"
    purpose: str
    memory_mb: int = 256
    timeout_s: int = 10
    tables: dict[str, Access] = field(default_factory=dict)  # logical table -> access
    buckets: dict[str, Access] = field(default_factory=dict)  # logical bucket -> access
    publishes: bool = False  # puts events on the bus
    manages_connections: bool = False  # posts to WebSocket connections (@connections)
    verifies_tokens: bool = False  # checks Cognito JWTs itself (needs the pool's issuer and client)
    sends_to: tuple[str, ...] = ()  # logical queues it sends messages to


@dataclass(frozen=True)
class HttpRoute:
    method: Literal["GET", "POST", "PATCH", "DELETE"]
    path: str  # API Gateway syntax: /rooms/{room_id}
    function: str
    public: bool = False  # True: served without a token (every other route requires one)
    # The input it takes (a `domain.commands` action): its body plus the path's values.
    command: str = ""
    creates: bool = False  # answers 201 when it wrote something new
    query: tuple[str, ...] = ()  # query string parameters it reads

    @property
    def parameters(self) -> list[str]:
        """The names of its path parameters, in order."""
        return _PATH_PARAMETER.findall(self.path)

    def path_as(self, parameter: str) -> str:
        """The path with each `{name}` written as `parameter` says (`\\1` is the name): a router's
        own syntax, such as Powertools' `<\\1>`."""
        return _PATH_PARAMETER.sub(parameter, self.path)


_PATH_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class StreamMapping:
    """A DynamoDB Stream -> function mapping with Lambda's failure semantics."""

    table: str
    function: str
    batch_size: int = 100
    batching_window_s: int = 0
    max_retries: int = 5
    max_record_age_s: int = 3600
    bisect_on_error: bool = True
    report_batch_item_failures: bool = True
    on_failure_queue: str = ""
    # Only new events reach the function: heads, records, memberships and tombstones live at sk 0.
    filter_pattern: str = (
        '{"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"N": [{"anything-but": ["0"]}]}}}}'
    )


@dataclass(frozen=True)
class QueueMapping:
    """An SQS queue -> function mapping: batches of messages, each failure reported per message
    (it comes back after the queue's visibility timeout), the queue's redrive policy past that."""

    queue: str
    function: str
    batch_size: int = 10  # a FIFO queue gives at most 10 messages a receive
    max_concurrency: int = 50  # invocations at once; a FIFO group is never in two of them


@dataclass(frozen=True)
class Queue:
    name: str  # logical; deployed as "<prefix>-<name>" (FIFO queues end in ".fifo")
    purpose: str
    retention_s: int = 14 * 24 * 3600
    # FIFO: in order and once within each message group (deduplicated by the sender's id for
    # five minutes), one batch per group in flight at a time.
    fifo: bool = False
    visibility_timeout_s: int = 30
    dead_letter_queue: str = ""  # where a message goes after max_receive_count receives
    max_receive_count: int = 10
    env_var: str = ""  # the variable that gives a sending function its URL


# Every FIFO queue: deduplicated by the sender's ids within each message group, each group with
# its own throughput (high-throughput FIFO).
FIFO_DEDUPLICATION_SCOPE = "messageGroup"
FIFO_THROUGHPUT_LIMIT = "perMessageGroupId"


def queue_name(prefix: str, queue: Queue) -> str:
    return f"{prefix}-{queue.name}" + (".fifo" if queue.fifo else "")


PROJECTOR = Function(
    name="projector",
    handler="functions.projector.handler.lambda_handler",
    purpose="events stream -> views table and EventBridge",
    memory_mb=512,
    timeout_s=60,
    tables={"views": "write"},
    publishes=True,
    sends_to=("room-events",),
)

HTTP_API = Function(
    name="http-api",
    handler="functions.http_api.handler.lambda_handler",
    purpose="the HTTP API: verifies the caller's Cognito JWT and answers every route, and every "
    "request no route takes ($default), in the API's own error shape",
    tables={"events": "append", "views": "read", "rate-limits": "write"},
    buckets={"files": "write"},  # presigns uploads (PutObject) and downloads (GetObject)
    verifies_tokens=True,
)

WS_AUTHORIZER = Function(
    name="ws-authorizer",
    handler="functions.ws.authorizer.lambda_handler",
    purpose="the WebSocket $connect REQUEST authorizer: verifies the Cognito JWT in ?token=",
    timeout_s=5,
    verifies_tokens=True,
)

WS_CONNECTIONS = Function(
    name="ws-connections",
    handler="functions.ws.connections.lambda_handler",
    purpose="WebSocket $connect and $disconnect: keeps the connections table",
    timeout_s=5,
    tables={"connections": "write", "rate-limits": "write"},
)

WS_MESSAGES = Function(
    name="ws-messages",
    handler="functions.ws.messages.lambda_handler",
    purpose="WebSocket actions send, edit, delete, typing, read, ping and $default",
    tables={"events": "append", "rate-limits": "write"},
    publishes=True,  # typing signals
)

BROADCASTER = Function(
    name="broadcaster",
    handler="functions.broadcaster.handler.lambda_handler",
    purpose="each room's events in order (its FIFO group) and typing signals (the bus) -> the "
    "WebSocket connections of the room's members (410: forget it)",
    timeout_s=10,
    tables={"views": "read", "connections": "write"},
    manages_connections=True,
)

FUNCTIONS: tuple[Function, ...] = (
    PROJECTOR,
    HTTP_API,
    WS_AUTHORIZER,
    WS_CONNECTIONS,
    WS_MESSAGES,
    BROADCASTER,
)


# The `Source` of every entry the functions put on the chat bus.
BUS_SOURCE = "chat"


@dataclass(frozen=True)
class BusRule:
    """An EventBridge rule on the chat bus, delivering to a function with retries and a DLQ."""

    name: str
    detail_types: tuple[str, ...]
    function: str
    max_retries: int = 8
    max_event_age_s: int = 300  # a chat frame older than this is news nobody wants
    dead_letter_queue: str = ""

    def event_pattern(self) -> dict[str, list[str]]:
        """What the rule matches: chat events (and signals) of its detail types."""
        return {"source": [BUS_SOURCE], "detail-type": list(self.detail_types)}


BROADCAST_DLQ = Queue("broadcast-dlq", "typing signals the broadcaster could not deliver")

# Everything the projector publishes goes to the bus too (its archive, other consumers); members'
# frames come from the FIFO queue instead, where each room is a message group, in seq order.
BUS_RULES: tuple[BusRule, ...] = (
    BusRule(
        name="broadcast",
        detail_types=("typing",),  # ephemeral: order does not matter, a late one is dropped
        function=BROADCASTER.name,
        max_event_age_s=60,
        dead_letter_queue=BROADCAST_DLQ.name,
    ),
)


@dataclass(frozen=True)
class WsRoute:
    route_key: str  # "$connect", "$disconnect", "$default" or a value of $request.body.action
    function: str
    replies: bool = False  # a two-way route: the function's answer goes back to the sender


WS_ROUTE_SELECTION = "$request.body.action"

WS_ROUTES: tuple[WsRoute, ...] = (
    WsRoute("$connect", WS_CONNECTIONS.name),
    WsRoute("$disconnect", WS_CONNECTIONS.name),
    *(
        WsRoute(action, WS_MESSAGES.name, replies=True)
        for action in ("send", "edit", "delete", "typing", "read", "ping", "$default")
    ),
)

# None: the token comes in a subprotocol (Sec-WebSocket-Protocol) or in ?token=, and API Gateway
# would answer 401 without asking the authorizer unless *every* identity source were present.
WS_AUTHORIZER_IDENTITY: tuple[str, ...] = ()
WS_AUTHORIZER_FUNCTION = WS_AUTHORIZER.name

HTTP_ROUTES: tuple[HttpRoute, ...] = (
    HttpRoute("GET", "/openapi.json", HTTP_API.name, public=True),
    HttpRoute("GET", "/ws-frames.json", HTTP_API.name, public=True),
    HttpRoute("GET", "/me", HTTP_API.name),
    HttpRoute("GET", "/rooms", HTTP_API.name),
    HttpRoute("POST", "/rooms", HTTP_API.name, command="create_room", creates=True),
    HttpRoute("POST", "/dms", HTTP_API.name, command="open_dm", creates=True),
    HttpRoute("GET", "/rooms/{room_id}", HTTP_API.name),
    HttpRoute("POST", "/rooms/{room_id}/members", HTTP_API.name, command="invite", creates=True),
    HttpRoute("DELETE", "/rooms/{room_id}/members/me", HTTP_API.name, command="leave"),
    HttpRoute("GET", "/rooms/{room_id}/messages", HTTP_API.name, query=("before", "limit")),
    HttpRoute("GET", "/rooms/{room_id}/events", HTTP_API.name, query=("after",)),
    HttpRoute("POST", "/rooms/{room_id}/messages", HTTP_API.name, command="send", creates=True),
    HttpRoute("PATCH", "/rooms/{room_id}/messages/{seq}", HTTP_API.name, command="edit"),
    HttpRoute("DELETE", "/rooms/{room_id}/messages/{seq}", HTTP_API.name, command="delete"),
    HttpRoute("POST", "/rooms/{room_id}/read", HTTP_API.name, command="read"),
    HttpRoute("POST", "/rooms/{room_id}/uploads", HTTP_API.name, command="upload", creates=True),
    # as=url: the URL as JSON, no redirect
    HttpRoute("GET", "/rooms/{room_id}/files/{file_id}", HTTP_API.name, query=("name", "as")),
)

# Takes every request no route takes (API Gateway's `$default` route), so that an unknown path,
# a wrong method and a CORS preflight are answered by the API itself, never by the gateway.
HTTP_DEFAULT_FUNCTION = HTTP_API.name

PROJECTOR_DLQ = Queue("projector-dlq", "stream records the projector failed on after every retry")

ROOM_EVENTS_DLQ = Queue(
    "room-events-dlq", "room events the broadcaster failed to deliver on every receive", fifo=True
)
ROOM_EVENTS = Queue(
    "room-events",
    "each room's public events in seq order (message group = room), for the broadcaster",
    retention_s=3600,  # a frame older than that is news nobody wants: clients catch up instead
    fifo=True,
    # At least the broadcaster's timeout (Lambda refuses less). A delivery that fails comes back
    # sooner: the broadcaster shortens its visibility (functions/broadcaster).
    visibility_timeout_s=3 * BROADCASTER.timeout_s,
    dead_letter_queue=ROOM_EVENTS_DLQ.name,
    max_receive_count=10,
    env_var="ROOM_EVENTS_QUEUE_URL",
)

QUEUES: tuple[Queue, ...] = (PROJECTOR_DLQ, BROADCAST_DLQ, ROOM_EVENTS_DLQ, ROOM_EVENTS)

QUEUE_MAPPINGS: tuple[QueueMapping, ...] = (QueueMapping(ROOM_EVENTS.name, BROADCASTER.name),)

STREAM_MAPPINGS: tuple[StreamMapping, ...] = (
    StreamMapping(
        table=EVENTS.name,
        function=PROJECTOR.name,
        batch_size=100,
        batching_window_s=0,
        on_failure_queue=PROJECTOR_DLQ.name,
    ),
)


@dataclass(frozen=True)
class Topology:
    """All of the above in one value, for code that builds a whole stage from it (Pulumi)."""

    tables: tuple[Table, ...]
    buckets: tuple[Bucket, ...]
    queues: tuple[Queue, ...]
    functions: tuple[Function, ...]
    http_routes: tuple[HttpRoute, ...]
    http_default: str  # the function of the HTTP API's $default route
    ws_routes: tuple[WsRoute, ...]
    ws_route_selection: str
    ws_authorizer: str
    ws_authorizer_identity: tuple[str, ...]
    stream_mappings: tuple[StreamMapping, ...]
    queue_mappings: tuple[QueueMapping, ...]
    bus_rules: tuple[BusRule, ...]

    def function(self, name: str) -> Function:
        return next(function for function in self.functions if function.name == name)

    def unguarded_http_routes(self) -> list[HttpRoute]:
        """Routes that require a token to a function that does not verify one: with no gateway
        authorizer (components/http_api.py), nothing else would check the caller."""
        verifying = {function.name for function in self.functions if function.verifies_tokens}
        routes = [*self.http_routes, HttpRoute("GET", "$default", self.http_default)]
        return [r for r in routes if not r.public and r.function not in verifying]

    def dead_letter_queues(self) -> set[str]:
        """Queues where only failures land (a message there needs an operator)."""
        return (
            {queue.dead_letter_queue for queue in self.queues if queue.dead_letter_queue}
            | {mapping.on_failure_queue for mapping in self.stream_mappings}
            | {rule.dead_letter_queue for rule in self.bus_rules if rule.dead_letter_queue}
        )


def current() -> Topology:
    """The topology as this module holds it now (read at call time, so a test may extend it)."""
    return Topology(
        tables=TABLES,
        buckets=BUCKETS,
        queues=QUEUES,
        functions=FUNCTIONS,
        http_routes=HTTP_ROUTES,
        http_default=HTTP_DEFAULT_FUNCTION,
        ws_routes=WS_ROUTES,
        ws_route_selection=WS_ROUTE_SELECTION,
        ws_authorizer=WS_AUTHORIZER_FUNCTION,
        ws_authorizer_identity=WS_AUTHORIZER_IDENTITY,
        stream_mappings=STREAM_MAPPINGS,
        queue_mappings=QUEUE_MAPPINGS,
        bus_rules=BUS_RULES,
    )

"""The topology is the one description of the system: it must agree with the code it names."""

from __future__ import annotations

import dataclasses
import importlib

from components.topology import (
    BROADCASTER,
    BUS_RULES,
    EVENTS,
    FUNCTIONS,
    HTTP_ROUTES,
    QUEUE_MAPPINGS,
    QUEUES,
    STREAM_MAPPINGS,
    TABLES,
    WS_ROUTES,
    HttpRoute,
    current,
)
from domain.ids import command_item, membership_item, room_stream, tombstone_item
from functions.http_api.handler import app

TABLE_NAMES = {table.name for table in TABLES}
FUNCTION_NAMES = {function.name for function in FUNCTIONS}


def test_every_function_names_a_handler_that_exists() -> None:
    for function in FUNCTIONS:
        module, _, name = function.handler.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), function.handler


def test_every_function_touches_only_tables_that_exist() -> None:
    for function in FUNCTIONS:
        assert set(function.tables) <= TABLE_NAMES, function.name


def test_the_http_routes_are_exactly_the_routes_the_http_function_serves() -> None:
    described = {
        route.method + route.path_as(r"<\1>")  # Powertools' path syntax
        for route in HTTP_ROUTES
        if route.function == "http-api"
    }
    # Powertools keeps its routes as "METHOD/path" keys.
    served = set(app._route_keys)

    assert described == served


def test_every_route_points_at_a_described_function() -> None:
    assert {route.function for route in HTTP_ROUTES} <= FUNCTION_NAMES


def test_every_route_that_requires_a_token_reaches_a_function_that_verifies_it() -> None:
    assert current().unguarded_http_routes() == []


def test_a_route_that_requires_a_token_to_a_function_that_verifies_none_is_found() -> None:
    shape = current()
    unguarded = HttpRoute("GET", "/digest", BROADCASTER.name)
    public = HttpRoute("GET", "/status", BROADCASTER.name, public=True)
    grown = dataclasses.replace(shape, http_routes=(*shape.http_routes, unguarded, public))
    lost = dataclasses.replace(shape, http_default=BROADCASTER.name)

    assert grown.unguarded_http_routes() == [unguarded]
    assert [r.function for r in lost.unguarded_http_routes()] == [BROADCASTER.name]


def test_the_stream_mapping_reads_a_streamed_table_into_a_function_with_a_dead_letter_queue() -> (
    None
):
    streamed = {table.name for table in TABLES if table.stream}
    queues = {queue.name for queue in QUEUES}
    for mapping in STREAM_MAPPINGS:
        assert mapping.table in streamed
        assert mapping.function in FUNCTION_NAMES
        assert mapping.on_failure_queue in queues
        assert mapping.report_batch_item_failures and mapping.bisect_on_error
        assert 0 < mapping.max_retries <= 10


def test_every_websocket_route_points_at_a_described_function_and_replies_only_from_messages() -> (
    None
):
    assert {route.function for route in WS_ROUTES} <= FUNCTION_NAMES
    keys = {route.route_key for route in WS_ROUTES}
    assert {
        "$connect",
        "$disconnect",
        "$default",
        "send",
        "edit",
        "delete",
        "typing",
        "read",
        "ping",
    } <= keys
    assert all(route.replies == (route.function == "ws-messages") for route in WS_ROUTES)


def test_every_bus_rule_delivers_to_a_described_function_with_a_dead_letter_queue() -> None:
    queues = {queue.name for queue in QUEUES}
    for rule in BUS_RULES:
        assert rule.function in FUNCTION_NAMES
        assert rule.dead_letter_queue in queues
        assert 0 < rule.max_retries <= 185 and 60 <= rule.max_event_age_s <= 86400


def test_room_events_reach_the_broadcaster_through_a_fifo_queue_and_typing_through_the_bus() -> (
    None
):
    (broadcast,) = [rule for rule in BUS_RULES if rule.function == "broadcaster"]
    broadcaster = next(f for f in FUNCTIONS if f.name == "broadcaster")
    (feed,) = [m for m in QUEUE_MAPPINGS if m.function == "broadcaster"]
    queue = next(q for q in QUEUES if q.name == feed.queue)

    assert broadcast.detail_types == ("typing",)
    assert queue.fifo and feed.queue in next(f for f in FUNCTIONS if f.name == "projector").sends_to
    assert queue.visibility_timeout_s >= broadcaster.timeout_s  # Lambda refuses less
    assert next(q for q in QUEUES if q.name == queue.dead_letter_queue).fifo
    assert "events" not in broadcaster.tables and broadcaster.manages_connections


def test_the_log_s_only_deletable_partitions_are_the_memberships_a_leave_deletes() -> None:
    (memberships,) = EVENTS.deletable_key_prefixes
    assert membership_item("r1", "alice").startswith(memberships)
    for kept in (room_stream("r1"), command_item("alice#c1"), tombstone_item("r1", 3)):
        assert not kept.startswith(memberships)

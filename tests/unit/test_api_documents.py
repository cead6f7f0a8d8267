"""The API documents describe exactly the topology's routes and the command types they carry:
a new command appears in the OpenAPI document and the WebSocket frame schema without either
being touched."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import msgspec
import pytest

from application import wire
from components import topology
from components.topology import HTTP_ROUTES
from functions.http_api.documents import openapi_document, ws_frames_document
from functions.ws.frames import client_frames


def test_every_route_of_the_topology_is_documented_and_nothing_else() -> None:
    doc = openapi_document()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}

    assert documented == {(r.method, r.path) for r in HTTP_ROUTES}


def test_every_request_body_refers_to_a_schema_of_the_document() -> None:
    doc = openapi_document()
    for route in (r for r in HTTP_ROUTES if r.command):
        body = doc["paths"][route.path][route.method.lower()]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"]
        name = wire.BY_ACTION[route.command].__name__ + "Body"
        assert ref == f"#/components/schemas/{name}"
        assert name in doc["components"]["schemas"]


def test_only_public_routes_go_without_a_token() -> None:
    doc = openapi_document()
    for route in HTTP_ROUTES:
        operation = doc["paths"][route.path][route.method.lower()]
        assert ("security" not in operation) == route.public


def test_path_parameters_are_declared() -> None:
    operation = openapi_document()["paths"]["/rooms/{room_id}/messages/{seq}"]["patch"]

    parameters = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "path"}
    assert parameters == {"room_id": {"type": "string"}, "seq": {"type": "integer"}}


def test_a_body_leaves_out_what_the_path_gives_and_what_the_server_assigns() -> None:
    schemas = openapi_document()["components"]["schemas"]

    assert set(schemas["EditBody"]["properties"]) == {"text", "client_id"}
    assert set(schemas["CreateRoomBody"]["properties"]) == {"name", "members", "client_id"}
    assert schemas["SendBody"]["additionalProperties"] is False


def test_the_frame_schema_names_every_action_of_the_websocket_routes() -> None:
    client = ws_frames_document()["client"]
    actions = {
        r.route_key
        for r in topology.WS_ROUTES
        if r.function == topology.WS_MESSAGES.name and not r.route_key.startswith("$")
    }

    assert set(client["discriminator"]["mapping"]) == actions
    assert client["$defs"]["Send"]["required"] == ["action", "room_id"]


class Pin(msgspec.Struct, frozen=True, tag_field="action", tag="pin", forbid_unknown_fields=True):
    """A command a later issue might add: pin a message."""

    room_id: str
    seq: int
    client_id: str = ""


@pytest.fixture
def with_a_new_command(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(wire.BY_ACTION, "pin", Pin)
    route = topology.HttpRoute("POST", "/rooms/{room_id}/pins/{seq}", "http-api", command="pin")
    monkeypatch.setattr(topology, "HTTP_ROUTES", (*topology.HTTP_ROUTES, route))
    ws_route = topology.WsRoute("pin", topology.WS_MESSAGES.name, replies=True)
    monkeypatch.setattr(topology, "WS_ROUTES", (*topology.WS_ROUTES, ws_route))
    yield


def test_a_new_command_appears_in_both_documents_without_touching_them(
    with_a_new_command: None,
) -> None:
    openapi = openapi_document()
    frames = ws_frames_document()["client"]

    operation = openapi["paths"]["/rooms/{room_id}/pins/{seq}"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PinBody"
    }
    assert set(openapi["components"]["schemas"]["PinBody"]["properties"]) == {"client_id"}
    assert frames["discriminator"]["mapping"]["pin"] == "#/$defs/Pin"
    assert client_frames()["pin"] is Pin
    pin = wire.FrameDecoder(client_frames()).decode('{"action": "pin", "room_id": "r1", "seq": 4}')
    assert pin == Pin("r1", 4)


def test_every_frame_schema_is_a_resource_of_its_own_whose_references_resolve() -> None:
    for name, schema in ws_frames_document().items():
        assert schema["$id"] == f"ws-frames/{name}"
        for reference in re.findall(r'"\$ref": "#/\$defs/(\w+)"', json.dumps(schema)):
            assert reference in schema["$defs"], (name, reference)


def test_a_creating_route_documents_both_its_answers_and_an_optional_body_is_optional() -> None:
    paths = openapi_document()["paths"]

    assert set(paths["/rooms/{room_id}/messages"]["post"]["responses"]) == {
        "201",
        "200",
        "429",
        "default",
    }
    assert paths["/rooms/{room_id}/messages"]["post"]["requestBody"]["required"] is False
    assert paths["/rooms/{room_id}/messages/{seq}"]["patch"]["requestBody"]["required"] is True


def test_every_rate_limited_route_documents_its_limit_and_retry_after_and_no_read_does() -> None:
    for path, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            too_many = operation["responses"].get("429")
            if method == "get":
                assert too_many is None, path
                continue
            assert "at most" in too_many["description"], (method, path)
            assert too_many["headers"]["Retry-After"]["schema"] == {"type": "integer"}

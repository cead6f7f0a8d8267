"""The OpenAPI document describes exactly the topology's routes, with their bodies."""

from __future__ import annotations

from components.topology import HTTP_ROUTES
from functions.http_api.openapi import BODIES, document


def test_every_route_of_the_topology_is_documented_and_nothing_else() -> None:
    doc = document()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}

    assert documented == {(r.method, r.path) for r in HTTP_ROUTES}


def test_every_request_body_refers_to_a_schema_of_the_document() -> None:
    doc = document()
    for (method, path), kind in BODIES.items():
        body = doc["paths"][path][method.lower()]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{kind.__name__}"
        assert kind.__name__ in doc["components"]["schemas"]


def test_only_public_routes_go_without_a_token() -> None:
    doc = document()
    for route in HTTP_ROUTES:
        operation = doc["paths"][route.path][route.method.lower()]
        assert ("security" not in operation) == route.public


def test_path_parameters_are_declared() -> None:
    operation = document()["paths"]["/rooms/{room_id}/messages/{seq}"]["patch"]

    assert {p["name"] for p in operation["parameters"] if p["in"] == "path"} == {"room_id", "seq"}

"""JSON Schemas of the inputs as the wire carries them, for the API documents."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from application.wire import TAG, assigned, union_of

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def body_schemas(
    bodies: Iterable[tuple[str, type[msgspec.Struct], Iterable[str]]], ref_template: str
) -> dict[str, dict[str, Any]]:
    """Request bodies: (schema name, input type, fields the path gives), each without those
    fields, the ones the server assigns and the tag (the route says what a body is). Shared types
    (an attachment) are schemas of their own, referred to with `ref_template`."""
    bodies = list(bodies)
    _, components = msgspec.json.schema_components(
        [kind for _, kind, _ in bodies], ref_template=ref_template
    )
    inputs = {kind.__name__ for _, kind, _ in bodies}
    schemas = {name: schema for name, schema in components.items() if name not in inputs}
    for name, kind, from_path in bodies:
        schemas[name] = without(components[kind.__name__], {TAG, *from_path, *assigned(kind)})
        schemas[name]["title"] = name
    return schemas


def frames_schema(kinds: Iterable[type[msgspec.Struct]], title: str) -> dict[str, Any]:
    """One JSON Schema for every frame of `kinds`, told apart by their tag."""
    kinds = tuple(kinds)
    schema = msgspec.json.schema(union_of(kinds))
    definitions = schema.get("$defs", {})
    for kind in kinds:
        definitions[kind.__name__] = without(definitions[kind.__name__], set(assigned(kind)))
    return {"$schema": DIALECT, "title": title, **schema}


def without(schema: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    properties = {k: v for k, v in schema.get("properties", {}).items() if k not in fields}
    required = [name for name in schema.get("required", []) if name not in fields]
    trimmed = {**schema, "properties": properties, "required": required}
    if not required:
        del trimmed["required"]
    return trimmed

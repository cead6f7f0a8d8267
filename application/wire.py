"""The one decoder from the wire to `domain.commands`: HTTP bodies (with their path's values) and
WebSocket frames become the same command types, checked by msgspec."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import reduce
from operator import or_
from typing import Any, TypeVar

import msgspec

from domain.commands import INPUTS, action_of
from domain.errors import DomainError, InvalidInput

Kind = TypeVar("Kind", bound=msgspec.Struct)

BY_ACTION: dict[str, type[msgspec.Struct]] = {action_of(kind): kind for kind in INPUTS}
TAG = "action"


class InvalidJson(DomainError):
    code = "invalid_json"


def assigned(kind: type[msgspec.Struct]) -> tuple[str, ...]:
    """The fields of `kind` the server fills in, which no client may set."""
    return tuple(getattr(kind, "ASSIGNED", ()))


# What decoding a client's JSON raises: malformed text, or text nested deeper than the decoder
# recurses (a 32 KB frame can nest 16,000 levels).
MALFORMED = (msgspec.DecodeError, RecursionError)


def union_of(kinds: Iterable[type[msgspec.Struct]]) -> Any:
    return reduce(or_, kinds)


def decode(
    raw: str | bytes | None, kind: type[Kind], path: Mapping[str, str] | None = None
) -> Kind:
    """An HTTP body (a JSON object; none is `{}`) as a `kind`, with the values of the route's
    `path` filled in. The body may not name those values, the ones the server assigns, nor the
    tag: the route says what it is."""
    fields = _object(raw, "the request body")
    given = _typed(kind, path or {})
    taken = sorted(fields.keys() & {TAG, *given, *assigned(kind)})
    if taken:
        raise InvalidInput(f"the request body is not valid: `{taken[0]}` cannot be set here")
    for name in assigned(kind):
        given.setdefault(name, "")
    try:
        return msgspec.convert({**fields, **given}, kind)
    except msgspec.ValidationError as error:
        raise InvalidInput(f"the request body is not valid: {error}") from error


class FrameDecoder:
    """WebSocket frames as the inputs their `action` names, among `kinds` (action -> type)."""

    def __init__(self, kinds: Mapping[str, type[msgspec.Struct]]) -> None:
        self.kinds = dict(kinds)
        self.decoder = msgspec.json.Decoder(union_of(self.kinds.values()))

    def decode(self, raw: str | bytes) -> Any:
        try:
            frame = self.decoder.decode(raw)
        except MALFORMED as error:  # malformed JSON, or a frame of no known shape
            raise InvalidInput(f"not a valid frame: {error}") from error
        refused = (
            set(assigned(type(frame))) & _object(raw, "a frame").keys()
            if assigned(type(frame))
            else set()
        )
        if refused:
            raise InvalidInput(f"not a valid frame: `{sorted(refused)[0]}` cannot be set")
        return frame


def _typed(kind: type[msgspec.Struct], path: Mapping[str, str]) -> dict[str, Any]:
    """Path values (text in a URL) as the types of the fields they fill: a seq is a number."""
    typed: dict[str, Any] = {}
    for name, value in path.items():
        if field_types(kind).get(name) is int:
            try:
                typed[name] = int(value)
            except ValueError as error:
                raise InvalidInput(f"`{name}` in the path must be a whole number") from error
        else:
            typed[name] = value
    return typed


_FIELD_TYPES: dict[type[msgspec.Struct], dict[str, Any]] = {}


def field_types(kind: type[msgspec.Struct]) -> dict[str, Any]:
    """Field name -> type of an input type (worked out once per type)."""
    found = _FIELD_TYPES.get(kind)
    if found is None:
        found = _FIELD_TYPES[kind] = {f.name: f.type for f in msgspec.structs.fields(kind)}
    return found


def _object(raw: str | bytes | None, what: str) -> dict[str, Any]:
    try:
        found = msgspec.json.decode(raw or b"{}")
    except MALFORMED as error:
        raise InvalidJson(f"{what} is not valid JSON") from error
    if not isinstance(found, dict):
        raise InvalidInput(f"{what} is not valid: expected a JSON object")
    return found

"""The system's shape as plain data: the Pulumi components and the local stage both read it.

This first part names the tables; functions and triggers join it with the real-time path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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


EVENTS = Table(
    name="events",
    hash_key=Key("pk", "S"),
    range_key=Key("sk", "N"),
    stream="NEW_IMAGE",
    ttl_attribute="expires_at",
    env_var="EVENTS_TABLE",
    purpose="the event log (sk >= 1) and its bookkeeping items (sk = 0): stream heads, "
    "command records, message tombstones",
)

VIEWS = Table(
    name="views",
    hash_key=Key("pk", "S"),
    range_key=Key("sk", "S"),
    env_var="VIEWS_TABLE",
    purpose="read models projected from the log: rooms, members, messages, inboxes",
)

TABLES: tuple[Table, ...] = (EVENTS, VIEWS)


def physical_name(prefix: str, table: Table) -> str:
    return f"{prefix}-{table.name}"

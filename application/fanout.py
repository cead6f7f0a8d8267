"""Delivers a chat event to the open connections of the people it concerns."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import msgspec

MAX_PARALLEL_POSTS = 16


class Gone(Exception):
    """The connection is closed (API Gateway answered 410)."""


class Connections(Protocol):
    def of_users(self, user_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each user's open connections (one read for all of them, whatever their number)."""
        ...

    def remove(self, user_id: str, connection_id: str) -> None: ...


class Poster(Protocol):
    def post(self, connection_id: str, data: bytes) -> None:
        """Send one frame; raises Gone for a closed connection."""


@dataclass
class Delivery:
    sent: int = 0
    forgotten: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def recipients(
    detail_type: str, detail: dict[str, Any], members: Callable[[str], Iterable[str]]
) -> set[str]:
    """Room events go to the room's members (a leaver too, so their own tabs update); a read
    marker to its reader's other tabs; typing to everyone in the room but the typist."""
    if detail_type == "read.marked":
        return {str(detail["user_id"])}
    people = set(members(str(detail["room_id"])))
    if detail_type == "user.left":
        people.add(str(detail["data"]["user_id"]))
    if detail_type == "typing":
        people.discard(str(detail["user_id"]))
    return people


@cache
def _posting_pool(parallel: int) -> ThreadPoolExecutor:
    """Kept across invocations: starting threads for every event costs more than the posts."""
    return ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="post")


def fan_out(
    frame: dict[str, Any],
    users: Iterable[str],
    connections: Connections,
    poster: Poster,
    parallel: int = MAX_PARALLEL_POSTS,
) -> Delivery:
    """Post `frame` to every connection of `users`, at most `parallel` at a time; a closed
    connection is forgotten and the others still get it."""
    data = msgspec.json.encode(frame)
    by_user = connections.of_users(users)
    targets = [(user, conn) for user in sorted(by_user) for conn in by_user[user]]
    delivery = Delivery()

    def post(target: tuple[str, str]) -> tuple[tuple[str, str], Exception | None]:
        try:
            poster.post(target[1], data)
        except Exception as error:  # sorted out below, one target at a time
            return target, error
        return target, None

    for (user, conn), error in _posting_pool(parallel).map(post, targets):
        if error is None:
            delivery.sent += 1
        elif isinstance(error, Gone):
            connections.remove(user, conn)
            delivery.forgotten.append(conn)
        else:
            delivery.failed.append(conn)
    return delivery

"""Consecutive runs of items that one batch call of an AWS API takes (a count and a byte limit)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")


def runs(
    items: Iterable[Item], measure: Callable[[Item], int], most: int, most_bytes: int
) -> Iterator[list[Item]]:
    """The items in order, cut into runs of at most `most` items and `most_bytes` bytes (an item
    bigger than that alone still goes alone: the service refuses it, with its own answer)."""
    run: list[Item] = []
    size = 0
    for item in items:
        item_bytes = measure(item)
        if run and (len(run) == most or size + item_bytes > most_bytes):
            yield run
            run, size = [], 0
        run.append(item)
        size += item_bytes
    if run:
        yield run

"""Consecutive runs of items that one batch call of an AWS API takes (a count, and a byte limit)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

Item = TypeVar("Item")

SQS_BATCH = 10  # entries an SQS batch call (send, delete, change visibility) takes


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


def chunks(items: Sequence[Item], most: int) -> Iterator[Sequence[Item]]:
    """The items in order, `most` at a time (SQS's batch calls take ten entries)."""
    for start in range(0, len(items), most):
        yield items[start : start + most]

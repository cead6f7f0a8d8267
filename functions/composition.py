"""Each function's composition root: its collaborators, built once per Lambda instance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

Deps = TypeVar("Deps")


class Root(Generic[Deps]):
    """Builds what a function works with (its `Deps`, from the environment) when its first
    invocation needs it and keeps it for the instance's life: Lambda reuses an instance for many
    invocations, and clients, connection pools and generated documents are worth keeping. Tests
    do not go through it: they hand their own `Deps` to the function's `handle`."""

    def __init__(self, build: Callable[[], Deps]) -> None:
        self._build = build
        self._deps: Deps | None = None

    def __call__(self) -> Deps:
        if self._deps is None:
            self._deps = self._build()
        return self._deps

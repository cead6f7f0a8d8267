"""Helpers of the local stage's service tests: an app served on a loopback port, and fake
Lambdas and a fake token verifier standing in for the functions and Cognito's keys."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from local.moto_process import free_port

Answer = Callable[[dict[str, Any]], Any]


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1; yields its `host:port`."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.01)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


class FakeLambdas:
    """Invokes an answer per function name (an exception raised is a failed invocation) and
    records every (function, event) it was given."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        self.calls.append((function_name, event))
        return self.answers[function_name](event)

    def events(self, function_name: str) -> list[dict[str, Any]]:
        return [event for name, event in self.calls if name == function_name]


def fail(_: dict[str, Any]) -> Any:
    raise RuntimeError("the function failed")

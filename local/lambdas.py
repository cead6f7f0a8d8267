"""The topology's functions, run as Lambda runs them: in instances that each serve one invocation
at a time and keep their own module state.

A handler module keeps per-invocation state in its globals (Powertools' resolver holds the current
event, the batch processor its records), which is safe on Lambda because an instance never runs
two invocations at once. Calling one imported module from many threads would let concurrent
requests read each other's events, so each instance here is a fresh copy of the handler module,
made when every existing one is busy (a cold start) and reused after."""

from __future__ import annotations

import importlib.util
import io
import itertools
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from starlette.concurrency import run_in_threadpool

from components.topology import FUNCTIONS

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class FakeContext:
    """What Powertools, and a function minding its time, read of a Lambda context."""

    function_name: str = "local"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_s: float = 900.0
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(1000 * (self.started + self.timeout_s - time.monotonic())))


_instance_numbers = itertools.count(1)
_cold_starts = threading.Lock()
_METRICS_STATE = ("_metrics", "_dimensions", "_metadata", "_default_dimensions")


@contextmanager
def _own_metrics_state() -> Iterator[None]:
    """Powertools' Metrics keep their metric sets in class attributes, shared by every Metrics
    made in one process (on AWS, one instance is one process). An instance made here gets its
    own, so concurrent invocations never flush or clear each other's metrics."""
    saved = {name: getattr(Metrics, name) for name in _METRICS_STATE}
    for name in _METRICS_STATE:
        setattr(Metrics, name, {})
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(Metrics, name, value)


@contextmanager
def _own_loggers(instance_name: str) -> Iterator[None]:
    """Powertools' Logger writes through the stdlib logger named after its service, and keeps the
    invocation's keys (request id, cold start) on that logger's formatter: instances of one
    function would share them. A logger made here is named after its instance instead; the
    service in each line stays the function's."""
    get_logger = Logger._get_logger

    def instance_logger(self: Logger) -> logging.Logger:
        return logging.getLogger(f"{self.service}@{instance_name}")

    Logger._get_logger = instance_logger  # type: ignore[method-assign]
    try:
        yield
    finally:
        Logger._get_logger = get_logger  # type: ignore[method-assign]


def cold_start(handler_path: str) -> Handler:
    """A new instance: the handler's module executed afresh, with globals of its own. It is
    registered under a name of its own, since msgspec and typing resolve a module's annotations
    through sys.modules."""
    module_name, _, attribute = handler_path.rpartition(".")
    found_spec = importlib.util.find_spec(module_name)
    if found_spec is None or found_spec.origin is None:
        raise ImportError(f"no handler module {module_name}")
    instance_name = f"{module_name}__instance{next(_instance_numbers)}"
    spec = importlib.util.spec_from_file_location(instance_name, found_spec.origin)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {found_spec.origin}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[instance_name] = module
    with _cold_starts, _own_metrics_state(), _own_loggers(instance_name):
        spec.loader.exec_module(module)
    found: Handler = getattr(module, attribute)
    return found


class _PerThread:
    """A value each thread sees its own of, read and set on a class or on its instances."""

    def __init__(self, state: threading.local, name: str) -> None:
        self.state, self.name = state, name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return getattr(self.state, self.name, None)

    def __set__(self, instance: object, value: Any) -> None:
        setattr(self.state, self.name, value)


def _routers_per_thread() -> None:
    """Powertools' event handler keeps the event being resolved on its `BaseRouter` class
    (`BaseRouter.current_event = ...`), shared by every resolver in a process. On AWS one process
    serves one invocation at a time; here instances of the HTTP API run side by side in threads,
    and would read each other's events (another caller's claims). Each thread gets its own: a
    descriptor on the class serves its instances, one on its metaclass serves the class itself."""
    if isinstance(type(BaseRouter).__dict__.get("current_event"), _PerThread):
        return
    state = threading.local()
    names = ("current_event", "lambda_context")
    for name in names:
        setattr(BaseRouter, name, _PerThread(state, name))
    per_thread = {name: _PerThread(state, name) for name in names}
    BaseRouter.__class__ = type("PerThreadRouterMeta", (type(BaseRouter),), per_thread)  # type: ignore[method-assign]


_invocation = threading.local()  # the function this thread is running, if any


class FunctionLogs(io.TextIOBase):
    """stdout as Lambda gives it: what a function prints (Powertools' JSON logs, CloudWatch
    metrics as EMF lines) goes to that function's own file, as to its log group on AWS; anything
    else goes to the console."""

    def __init__(self, console: TextIO, folder: Path) -> None:
        self.console, self.folder = console, folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, TextIO] = {}
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        function = getattr(_invocation, "function", None)
        if function is None:
            return self.console.write(text)
        with self.lock:
            log = self.files.get(function)
            if log is None:
                log = self.files[function] = (self.folder / f"{function}.log").open("a")
            log.write(text)
            log.flush()
        return len(text)

    def flush(self) -> None:
        self.console.flush()

    def close(self) -> None:
        with self.lock:
            for log in self.files.values():
                log.close()
            self.files.clear()


class Lambdas:
    def __init__(self, handlers: dict[str, str] | None = None) -> None:
        _routers_per_thread()
        # function name -> "module.attribute" of its handler; the topology's by default
        self.handlers = handlers or {function.name: function.handler for function in FUNCTIONS}
        self.timeouts = {function.name: float(function.timeout_s) for function in FUNCTIONS}
        self.idle: dict[str, list[Handler]] = {name: [] for name in self.handlers}
        self.instances = dict.fromkeys(self.handlers, 0)
        self.lock = threading.Lock()

    def call(self, function_name: str, event: dict[str, Any]) -> Any:
        with self.lock:
            idle = self.idle[function_name]
            instance = idle.pop() if idle else None
        if instance is None:
            instance = cold_start(self.handlers[function_name])
            with self.lock:
                self.instances[function_name] += 1
        _invocation.function = function_name
        try:
            context = FakeContext(function_name, timeout_s=self.timeouts.get(function_name, 900.0))
            return instance(event, context)
        finally:
            _invocation.function = None
            with self.lock:
                self.idle[function_name].append(instance)

    async def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        return await run_in_threadpool(self.call, function_name, event)

"""moto's WSGI application served over kept-alive connections, as AWS's endpoints keep them.

moto's own threaded server is werkzeug's development server. It answers every request with
`Connection: close` (http.server cannot find the next request on a connection when an application
left part of a body unread), and then waits 10 ms for more bytes to discard before it lets the
connection go. So every AWS call to the local stage paid for a new TCP connection and a new server
thread on top of the call, botocore's connection pool never reused anything, and each answer was
held back. Measured on one GetItem: 2.6 ms of client CPU and 3.2 ms of server CPU.

Here the same application (moto's `DomainDispatcherApplication`) runs behind uvicorn (its HTTP
parser is httptools, in C) through a2wsgi's WSGI adapter, on a pool of threads: connections stay
open, requests are parsed once, and a long poll holds one thread of the pool, not the server.
"""

from __future__ import annotations

import threading
import time

import uvicorn
from a2wsgi import WSGIMiddleware
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

# Requests handled at once. SQS long polls each hold one for up to their wait time, so there are
# plenty; moto serialises what must be serialised itself (and local/moto_server.py's locks).
THREADS = 64


class KeepAliveMotoServer:
    """moto's server application on 127.0.0.1:`port`, in a thread of this process."""

    def __init__(self, port: int) -> None:
        app = WSGIMiddleware(DomainDispatcherApplication(create_backend_app), workers=THREADS)  # type: ignore[arg-type]
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                http="httptools",
                lifespan="off",
                log_level="warning",
                access_log=False,
                timeout_keep_alive=60,
            )
        )
        self.port = port
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="moto-http")

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"moto's server did not start on port {self.port}")
            time.sleep(0.01)

    def get_host_and_port(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)

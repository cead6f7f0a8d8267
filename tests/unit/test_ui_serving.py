"""The gateway serves the web client's build at / when there is one."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import requests
import uvicorn

from local.gateway import Gateway, create_app, ui_build
from local.moto_process import free_port


def test_a_built_client_is_found_and_served_at_the_root(tmp_path: Path) -> None:
    build = tmp_path / "dist" / "chat" / "browser"
    build.mkdir(parents=True)
    (build / "index.html").write_text("<title>chat</title>")
    found = ui_build(tmp_path)
    assert found == build

    port = free_port()
    app = create_app(Gateway(None, {"apiUrl": "x"}), found)  # type: ignore[arg-type]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        assert "<title>chat</title>" in requests.get(f"http://127.0.0.1:{port}/", timeout=5).text
        assert requests.get(f"http://127.0.0.1:{port}/config.json", timeout=5).json() == {
            "apiUrl": "x"
        }
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def test_without_a_build_nothing_is_served_at_the_root(tmp_path: Path) -> None:
    assert ui_build(tmp_path) is None

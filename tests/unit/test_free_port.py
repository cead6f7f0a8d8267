"""Ports for the servers the stage and the tests start: never one the kernel may hand to an
outgoing connection meanwhile (two test workers once lost a stage's port that way)."""

from __future__ import annotations

import secrets
import socket

import pytest

from local.moto_process import PORTS_FROM, _ephemeral_low, free_port


def test_a_free_port_lies_below_the_ephemeral_range_and_can_be_listened_on() -> None:
    ports = {free_port() for _ in range(20)}

    assert all(PORTS_FROM <= port < _ephemeral_low() for port in ports)
    for port in ports:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
            server.listen()


def test_a_port_something_listens_on_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        busy = taken.getsockname()[1]
        draws = iter([busy - PORTS_FROM, busy - PORTS_FROM + 1])
        monkeypatch.setattr(secrets, "randbelow", lambda _: next(draws))

        assert free_port() == busy + 1

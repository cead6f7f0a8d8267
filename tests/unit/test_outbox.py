"""The local gateway's outbound frames: in order, without the poster waiting for the client, and
a client that falls too far behind is dropped rather than holding everyone up."""

from __future__ import annotations

import asyncio

import pytest

from local import gateway
from local.gateway import Outbox


class Socket:
    def __init__(self, stuck: bool = False) -> None:
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self.stuck = stuck

    async def send_text(self, text: str) -> None:
        if self.stuck:  # a client that stopped reading: the write never completes
            await asyncio.Event().wait()
        self.sent.append(text)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = code


def test_frames_go_out_in_the_order_they_were_posted() -> None:
    async def scenario() -> list[str]:
        socket = Socket()
        outbox = Outbox(socket)  # type: ignore[arg-type]
        for n in range(5):
            assert outbox.put(f"frame {n}")
        await asyncio.sleep(0.05)
        outbox.close()
        return socket.sent

    assert asyncio.run(scenario()) == [f"frame {n}" for n in range(5)]


def test_a_client_too_far_behind_is_disconnected_and_further_posts_are_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gateway, "OUTBOX_FRAMES", 3)

    async def scenario() -> tuple[list[bool], int | None]:
        socket = Socket(stuck=True)
        outbox = Outbox(socket)  # type: ignore[arg-type]
        accepted = [outbox.put(f"frame {n}") for n in range(6)]
        await asyncio.sleep(0.05)
        outbox.close()
        return accepted, socket.closed_with

    accepted, closed_with = asyncio.run(scenario())

    assert accepted == [True, True, True, False, False, False]
    assert closed_with == 1008

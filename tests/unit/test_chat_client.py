"""The terminal client prints a room's events in seq order although the bus delivers them unordered
and at least once: early frames are held, duplicates dropped, a lasting gap filled from the log.
A fake socket feeds it shuffled frames on a fake clock."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosedOK

from local.chat_client import (
    CATCH_UP_PAGE,
    GAP_WAIT,
    Frame,
    RoomOrder,
    RoomPrinter,
    listen,
)

ROOM = "r1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Log:
    """The room's log on the server: what `GET /rooms/{id}/events?after=` reads."""

    def __init__(self) -> None:
        self.events: list[Frame] = []
        self.reads: list[int] = []
        self.failures = 0

    def append(self, event_type: str, actor: str, **data: Any) -> Frame:
        seq = len(self.events) + 1
        event = {
            "type": event_type,
            "v": 1,
            "room_id": ROOM,
            "seq": seq,
            "actor": actor,
            "at": f"2026-11-25T06:{seq // 60:02}:{seq % 60:02}.000Z",
            "event_id": f"e{seq}",
            "data": data,
        }
        self.events.append(event)
        return event

    def say(self, actor: str, text: str) -> Frame:
        return self.append("message.created", actor, text=text, n=len(self.events) + 1)

    def rows(self) -> list[Frame]:
        """A page of history, newest first."""
        messages = [e for e in self.events if e["type"] == "message.created"]
        return [
            {"room_id": ROOM, "seq": e["seq"], "author": e["actor"], "text": e["data"]["text"]}
            for e in reversed(messages)
        ]

    def read_after(self, after: int) -> list[Frame]:
        self.reads.append(after)
        if self.failures:
            self.failures -= 1
            raise requests.ConnectionError("connection refused")
        return [e for e in self.events if e["seq"] > after][:CATCH_UP_PAGE]


class FakeSocket:
    """Answers `recv(timeout)` from a script of (delay in seconds, frame), moving the clock on:
    a frame due after the timeout raises TimeoutError, as the real socket does. Once the script
    is over the socket stays silent while the client waits for something, then closes."""

    def __init__(self, clock: Clock, script: list[tuple[float, Frame]]) -> None:
        self.clock = clock
        self.script = [(delay, json.dumps(frame)) for delay, frame in script]

    def recv(self, timeout: float | None = None) -> str | bytes:
        if not self.script:
            if timeout is None:
                raise ConnectionClosedOK(None, None)
            self.clock.now += timeout
            raise TimeoutError
        delay, raw = self.script[0]
        if timeout is not None and delay > timeout:
            self.clock.now += timeout
            self.script[0] = (delay - timeout, raw)
            raise TimeoutError
        self.clock.now += delay
        self.script.pop(0)
        return raw


def room_with_history(log: Log) -> list[Frame]:
    """A DM of alice and bob with two messages, and its history page."""
    log.append("room.created", "alice", room_id=ROOM, kind="dm", name="", members=["alice", "bob"])
    log.say("alice", "hello")
    log.say("bob", "hi")
    return log.rows()


def script(log: Log) -> list[Frame]:
    """What happens next: messages, an edit, a join, a deletion, a leave."""
    frames = [log.say("alice", "one"), log.say("bob", "two")]
    frames.append(log.append("message.updated", "alice", seq=4, text="one!", latest=False))
    frames.append(log.append("user.joined", "alice", user_id="carol", invited_by="alice"))
    frames += [log.say("carol", "three"), log.say("alice", "four"), log.say("bob", "five")]
    frames.append(log.append("message.deleted", "bob", seq=10, latest=True))
    frames += [log.say("carol", "six"), log.append("user.left", "carol", user_id="carol")]
    frames += [log.say("alice", "seven"), log.say("bob", "eight")]
    return frames


class Chat:
    """A printer started on a room with history; the test then writes the log and feeds frames."""

    def __init__(self) -> None:
        self.log, self.clock = Log(), Clock()
        self.printed: list[tuple[float, str]] = []
        history = room_with_history(self.log)
        self.printer = RoomPrinter(ROOM, "bob", self.log.read_after, self.out, self.clock)
        self.printer.start(history)
        self.started = self.clock()

    def out(self, line: str) -> None:
        self.printed.append((self.clock(), line))

    def feed(self, frames: list[tuple[float, Frame]]) -> None:
        listen(FakeSocket(self.clock, frames), self.printer)

    def lines(self) -> list[str]:
        return [line for _, line in self.printed]


def in_order() -> list[str]:
    chat = Chat()
    chat.feed([(0.0, frame) for frame in script(chat.log)])
    assert chat.log.reads == [3]  # the start's read of the log, after the history
    return chat.lines()


def disorder(frames: list[Frame], seed: int) -> list[tuple[float, Frame]]:
    """Shuffled, a third of the frames twice, each within 50 ms of the one before."""
    chance = random.Random(seed)
    delivered = frames + chance.sample(frames, len(frames) // 3)
    chance.shuffle(delivered)
    return [(chance.uniform(0, 0.05), frame) for frame in delivered]


def test_in_order_delivery_prints_every_event_once_after_the_history() -> None:
    lines = in_order()
    assert lines[:4] == ["[2] alice: hello", "[3] bob: hi", "[4] alice: one", "[5] bob: two"]
    assert len(lines) == 14  # all but the room's creation, which is before the history
    assert lines[-1] == "[15] bob: eight"


@pytest.mark.parametrize("seed", range(12))
def test_prints_in_seq_order_whatever_the_arrival_order_and_duplicates(seed: int) -> None:
    chat = Chat()
    chat.feed(disorder(script(chat.log), seed))
    assert chat.lines() == in_order()
    assert chat.log.reads == [3]  # every gap filled in time: the log was read only at the start


@pytest.mark.parametrize(("seed", "lost"), [(1, 0), (2, 4), (3, 7), (4, 10)])
def test_a_frame_that_never_comes_is_read_from_the_log_once(seed: int, lost: int) -> None:
    chat = Chat()
    frames = script(chat.log)
    missing = frames[lost]
    chat.feed([(delay, frame) for delay, frame in disorder(frames, seed) if frame != missing])
    assert chat.lines() == in_order()
    assert chat.log.reads == [3, missing["seq"] - 1]


def test_holds_what_comes_after_a_gap_until_the_gap_fills_within_the_wait() -> None:
    chat = Chat()
    four, five = chat.log.say("alice", "four"), chat.log.say("alice", "five")
    late = GAP_WAIT - 0.1
    chat.feed([(0.0, five), (late, four), (0.0, five)])
    at = chat.started + late
    assert chat.printed[2:] == [(at, "[4] alice: four"), (at, "[5] alice: five")]
    assert chat.log.reads == [3]


def test_a_gap_is_timed_from_when_it_was_first_seen() -> None:
    chat = Chat()
    frames = [chat.log.say("alice", f"m{seq}") for seq in range(4, 8)]
    # 7 opens the gap; 4 and 6 come later, 5 never: the log is read GAP_WAIT after 7 came
    chat.feed([(0.0, frames[3]), (1.0, frames[0]), (0.4, frames[2])])
    assert chat.log.reads == [3, 4]
    at = chat.started + GAP_WAIT
    assert chat.printed[2:] == [
        (chat.started + 1.0, "[4] alice: m4"),
        *[(at, f"[{seq}] alice: m{seq}") for seq in (5, 6, 7)],
    ]


def test_frames_already_shown_by_the_start_are_dropped() -> None:
    log, clock = Log(), Clock()
    history = room_with_history(log)
    four, five = log.say("alice", "four"), log.say("alice", "five")  # after the history was read
    lines: list[str] = []
    printer = RoomPrinter(ROOM, "bob", log.read_after, lines.append, clock)
    printer.start(history)
    listen(FakeSocket(clock, [(0.0, five), (0.0, four), (0.0, five)]), printer)
    assert lines == ["[2] alice: hello", "[3] bob: hi", "[4] alice: four", "[5] alice: five"]


def test_other_frames_print_as_they_come_and_other_rooms_are_left_out() -> None:
    chat = Chat()
    four, five = chat.log.say("alice", "four"), chat.log.say("alice", "five")
    elsewhere = {**four, "room_id": "r2", "seq": 1}
    typing = {"type": "typing", "room_id": ROOM, "user_id": "alice"}
    read = {"type": "read.marked", "room_id": ROOM, "seq": 3, "user_id": "bob", "data": {}}
    ack = {"type": "ack", "room_id": ROOM, "client_id": "c1", "seq": 6, "duplicate": False}
    chat.feed([(0.0, frame) for frame in (five, typing, elsewhere, read, ack, four)])
    assert chat.lines()[2:] == [
        "  alice is typing…",
        '  read.marked {"room_id": "r1", "seq": 3, "user_id": "bob", "data": {}}',
        "  (sent as 6)",
        "[4] alice: four",
        "[5] alice: five",
    ]


def test_a_failed_read_of_the_log_is_tried_again_later() -> None:
    chat = Chat()
    frames = [chat.log.say("alice", f"m{seq}") for seq in range(4, 7)]
    chat.log.failures = 1
    chat.feed([(0.0, frames[2])])
    assert chat.log.reads == [3, 3, 3]
    failed = "  ! catching up failed: connection refused"
    assert chat.printed[2] == (chat.started + GAP_WAIT, failed)
    at = chat.started + GAP_WAIT + 2 * GAP_WAIT  # the next try waits twice as long
    assert chat.printed[3:] == [(at, f"[{seq}] alice: m{seq}") for seq in (4, 5, 6)]


def test_room_order_releases_each_seq_once_in_order() -> None:
    chance = random.Random(7)
    for _ in range(200):
        order = RoomOrder()
        order.reach(0)
        frames = [{"seq": seq} for seq in range(1, 9)]
        delivered = frames + chance.sample(frames, 4)
        chance.shuffle(delivered)
        released = [f["seq"] for frame in delivered for f in order.offer(frame, 0.0)]
        assert released == list(range(1, 9))
        assert order.gap_since() is None


def test_room_order_holds_everything_until_it_knows_where_the_room_stands() -> None:
    order = RoomOrder()
    assert order.offer({"seq": 6}, 1.0) == []
    assert order.offer({"seq": 4}, 2.0) == []
    assert order.gap_since() is None  # nothing known to be missing
    assert order.reach(4) == []
    assert order.gap_since() == 1.0
    assert order.reach(5) == [{"seq": 6}]
    assert order.reach(2) == []
    assert order.last == 6

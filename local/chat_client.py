"""A terminal chat client for the local stage: sign in as a demo user, open a room or a DM, and
talk; the room's events are printed in seq order, other frames as they arrive.

    uv run python -m local.chat_client alice --dm bob          # terminal 1
    uv run python -m local.chat_client bob --dm alice          # terminal 2

Type a line to send it; `/quit` leaves.

On AWS the bus delivers a room's events unordered and at least once, so frames may come out of
seq order and twice. A room's seq is its stream version, gap-free from 1: a frame at or below
the last one printed is dropped, one past a gap is held until the gap fills, and a gap still open
after `GAP_WAIT` seconds is filled from the log (`GET /rooms/{id}/events?after=`)."""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import boto3
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from application.queries import CATCH_UP_MAX
from domain.events import EVENT_TYPES, ReadMarked
from functions.ws.handshake import SUBPROTOCOL, TOKEN_PREFIX

Frame = dict[str, Any]

# The events of a room's own stream, numbered by its seq. Read markers (addressed by the
# reader's room and seq) and typing signals are not part of that sequence.
ROOM_EVENTS = frozenset(name for name, kind in EVENT_TYPES.items() if kind is not ReadMarked)
# `GET /rooms/{id}/events` answers at most this many events at a time.
CATCH_UP_PAGE = CATCH_UP_MAX
# How long a gap may stay open before the log is read: concurrent deliveries swap frames by
# the spread of the delivery latency (well under a second); a lost one is retried by the bus
# only after seconds. The web client waits as long (ui/src/app/core/sequencer.ts).
GAP_WAIT = 1.5
# A failed read of the log is tried again after GAP_WAIT times 2, 4, 8, 16, 16...
MAX_BACKOFF = 16


def cognito(config: dict[str, Any]) -> Any:
    """The stage's Cognito, as a browser reaches it (through the gateway's pass-through)."""
    return boto3.client(
        "cognito-idp",
        endpoint_url=config["cognitoEndpoint"],
        region_name=config["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def sign_in(config: dict[str, Any], user: str, password: str) -> str:
    answer = cognito(config).initiate_auth(
        ClientId=config["userPoolClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": password},
    )
    return str(answer["AuthenticationResult"]["IdToken"])


def show(frame: dict[str, Any], me: str) -> str:
    kind = frame.get("type")
    if kind == "message.created":
        return f"[{frame['seq']}] {frame['actor']}: {frame['data']['text']}"
    if kind == "ack":
        return f"  (sent as {frame['seq']})"
    if kind == "typing":
        return f"  {frame['user_id']} is typing…"
    if kind == "error":
        return f"  ! {frame['code']}: {frame['message']}"
    return f"  {kind} {json.dumps({k: v for k, v in frame.items() if k != 'type'})}"


class RoomOrder:
    """One room's frames put back in seq order: the next one due is always `last + 1`; one at or
    below `last`, or one already held, is a duplicate; one further on is held, with when it
    came. Until `reach` says where the room stands, every frame is held."""

    def __init__(self) -> None:
        self.last: int | None = None
        self._held: dict[int, tuple[Frame, float]] = {}

    def offer(self, frame: Frame, now: float) -> list[Frame]:
        """The frames this one makes due, in seq order (none if it is held or a duplicate)."""
        seq = int(frame["seq"])
        if (self.last is not None and seq <= self.last) or seq in self._held:
            return []
        self._held[seq] = (frame, now)
        return self._drain()

    def reach(self, seq: int) -> list[Frame]:
        """Everything up to `seq` is accounted for: drop what is held up to it; never go back."""
        if self.last is not None and seq <= self.last:
            return []
        self.last = seq
        return self._drain()

    def gap_since(self) -> float | None:
        """Since when the oldest frame held behind a gap has waited, or None."""
        if self.last is None or not self._held:
            return None
        return min(since for _, since in self._held.values())

    def restart_clock(self, now: float) -> None:
        """After a read of the log, what is still held waits afresh."""
        self._held = {seq: (frame, now) for seq, (frame, _) in self._held.items()}

    def _drain(self) -> list[Frame]:
        if self.last is None:
            return []
        self._held = {seq: held for seq, held in self._held.items() if seq > self.last}
        due = []
        while (self.last + 1) in self._held:
            self.last += 1
            due.append(self._held.pop(self.last)[0])
        return due


class RoomPrinter:
    """What the terminal shows of one room: its history, then its events in seq order whatever
    order the socket delivers them in; a lasting gap is filled by `read_after(seq)`, which
    answers the room's events after `seq` from the log."""

    def __init__(
        self,
        room: str,
        me: str,
        read_after: Callable[[int], list[Frame]],
        out: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.room, self.me = room, me
        self.order = RoomOrder()
        self.failures = 0
        self._read_after, self._out, self._clock = read_after, out, clock

    def start(self, history: list[Frame]) -> None:
        """Prints a page of history (newest first, as the API answers it), then reads the log
        after its newest message: what came since, joins and edits included."""
        rows = sorted(history, key=lambda row: int(row["seq"]))
        for row in rows:
            self._out(f"[{row['seq']}] {row['author']}: {row['text']}")
        self._show(self.order.reach(int(rows[-1]["seq"]) if rows else 0))
        self.catch_up()

    def take(self, frame: Frame) -> None:
        """A frame from the socket."""
        if frame.get("type") in ROOM_EVENTS:
            if frame.get("room_id") == self.room:
                self._show(self.order.offer(frame, self._clock()))
        elif frame.get("room_id") in (self.room, None):
            self._out(show(frame, self.me))

    def due_in(self) -> float | None:
        """Seconds until a gap's catch-up is due; None while no gap is open."""
        since = self.order.gap_since()
        if since is None:
            return None
        wait = GAP_WAIT * min(1 << self.failures, MAX_BACKOFF)
        return max(since + wait - self._clock(), 0.0)

    def tick(self) -> None:
        """Reads the log if a gap has stayed open too long."""
        due = self.due_in()
        if due is not None and due <= 0:
            self.catch_up()

    def catch_up(self) -> None:
        """Everything after the last seq shown, from the log, a page at a time."""
        after = self.order.last
        if after is None:
            return
        try:
            while True:
                events = self._read_after(after)
                for event in events:
                    self._show(self.order.offer(event, self._clock()))
                after = int(events[-1]["seq"]) if events else after
                if len(events) < CATCH_UP_PAGE:
                    break
            self._show(self.order.reach(after))  # the log's head when it was read
            self.failures = 0
        except requests.RequestException as error:
            self.failures += 1
            self._out(f"  ! catching up failed: {error}")
        self.order.restart_clock(self._clock())

    def _show(self, events: list[Frame]) -> None:
        for event in events:
            self._out(show(event, self.me))


class Receiver(Protocol):
    def recv(self, timeout: float | None = None) -> str | bytes: ...


def listen(socket: Receiver, printer: RoomPrinter) -> None:
    """Feeds the socket's frames to the printer until the socket closes; waits no longer than
    the printer's next catch-up is due."""
    while True:
        try:
            raw = socket.recv(timeout=printer.due_in())
        except TimeoutError:
            printer.tick()
            continue
        except ConnectionClosed:
            return
        printer.take(json.loads(raw))
        printer.tick()


def main() -> None:
    from local.stage import DEMO_USERS  # noqa: PLC0415 (the stage is needed only to run)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user", choices=sorted(DEMO_USERS))
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    place = parser.add_mutually_exclusive_group(required=True)
    place.add_argument("--dm", metavar="PEER", help="talk to one person")
    place.add_argument("--room", metavar="ROOM_ID", help="talk in a room you belong to")
    args = parser.parse_args()

    config = requests.get(f"{args.url}/config.json", timeout=10).json()
    token = sign_in(config, args.user, DEMO_USERS[args.user])
    headers = {"Authorization": f"Bearer {token}"}
    room = args.room
    if args.dm:
        opened = requests.post(
            f"{config['apiUrl']}/dms", json={"peer": args.dm}, headers=headers, timeout=10
        )
        room = opened.json()["room_id"]

    def get(path: str, **params: int) -> Any:
        answer = requests.get(
            f"{config['apiUrl']}/rooms/{room}/{path}", params=params, headers=headers, timeout=10
        )
        answer.raise_for_status()
        return answer.json()

    printer = RoomPrinter(
        room,
        args.user,
        read_after=lambda after: list(get("events", after=after)["events"]),
        out=lambda line: print(line, flush=True),
    )
    # Connected first, so nothing sent between the history and the socket is missed: frames
    # wait in the socket until the history is shown, and those already shown are dropped.
    # The token as a subprotocol, as the web client offers it: never in the URL.
    offered = [Subprotocol(SUBPROTOCOL), Subprotocol(TOKEN_PREFIX + token)]
    with connect(config["wsUrl"], subprotocols=offered) as socket:

        def run() -> None:
            printer.start(list(get("messages").get("messages", [])))
            listen(socket, printer)

        threading.Thread(target=run, daemon=True).start()
        print(f"you are {args.user} in {room}; type to send, /quit to leave")
        while (line := input()) != "/quit":
            socket.send(
                json.dumps(
                    {"action": "send", "room_id": room, "text": line, "client_id": uuid.uuid4().hex}
                )
            )


if __name__ == "__main__":
    main()

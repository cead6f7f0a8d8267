"""Soak: the product's promise (every acknowledged message, once, in order, to every member, and
views that match the log) held on a hostile local stage that is killed and restarted mid-traffic.

    uv run python -m bench.soak [--sends 10000] [--rooms 8] [--members 3] [--tabs 2] [--kills 3]

The stage runs as `make dev CHAOS=hostile` runs it (local/chaos.py: DynamoDB throttling and
transaction conflicts, failed and timed-out invocations, an unordered bus that delivers twice,
@connections 429s), in a process of its own that is SIGKILLed (every process of it at once) and
started again on the same folder `--kills` times. Each room has `--members` people, each connected
on `--tabs` sockets that reconnect and catch up (`GET /rooms/{id}/events?after=`) as the clients
do. One sender per room posts over HTTP, retrying with the same `client_id` until acknowledged;
a drift repair (`chat replay --local --in-place`) runs during the traffic.

Once quiet (every tab has every acknowledged seq, and each room's history shows its last one: the
views are eventually consistent), it counts, and prints, last line
`soak: <acked> acked, <lost> lost, <dup> duplicated, <ooo> out of order, drift <d>`:
- lost: acknowledged messages missing from the log, from the history view, or at another seq;
- duplicated: messages in the log or the history more than once;
- out of order: frames a socket got after a higher seq of the same room on the same connection,
  for a seq its tab had not got yet (a client drops a seq it has, by frame or catch-up);
- gaps: seqs a connection skipped between two it got, and acknowledged seqs a tab never got
  (by frame or catch-up);
- drift: rows `chat replay --local --dry-run` finds different from the log, once quiet.
It exits 1 unless every one of them is 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from application.queries import CATCH_UP_MAX
from local import delivery_trace
from local.chaos import load_struck
from local.chat_client import cognito, sign_in
from local.moto_process import ROOT, free_port
from local.stage import STRUCK_FILE
from local.stage_process import kill_all, start, wait_for_config

PASSWORD = "Soak-password-1"
RETRYABLE = {429, 500, 502, 503, 504}
# Once the sends are done, how long the tabs may go without getting anything new before what they
# lack counts as gaps: a failed delivery comes back after the queue's 30 s visibility timeout,
# and can fail again.
QUIET_S = 100
TYPING_EVERY_S = 5.0  # per tab


class Stage:
    """The stage process, killed and started again on one folder and port; clients read its
    current config (a restarted stage has a new Cognito pool, so new tokens)."""

    def __init__(self, folder: Path, failure_modes: str) -> None:
        self.folder, self.failure_modes = folder, failure_modes
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.up = threading.Event()  # clear from a kill until the stage answers again
        self.generation = 0
        self.config: dict[str, Any] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts: list[float] = []  # seconds from kill to answering again
        self.struck: Counter[str] = Counter()  # failures played by the stages before this one

    def start(self) -> None:
        process = start(self.folder, self.port, self.failure_modes, self.folder / "stage.log")
        try:
            config = wait_for_config(f"{self.url}/config.json", process)
        except BaseException:
            kill_all(process)
            raise
        with self.lock:
            self.process, self.config = process, config
            self.generation += 1
        self.up.set()

    def kill_and_restart(self) -> None:
        began = time.monotonic()
        self.up.clear()
        if self.process is not None:
            kill_all(self.process)
            self.struck += load_struck(self.folder / STRUCK_FILE)
        self.start()
        self.restarts.append(time.monotonic() - began)

    def stop(self) -> None:
        if self.process is not None:
            kill_all(self.process)

    def played(self) -> Counter[str]:
        """The failures the stage's processes have played (DynamoDB's are in its moto process,
        and show only as the retries they cost)."""
        return self.struck + load_struck(self.folder / STRUCK_FILE)


@dataclass
class Account:
    user: str
    stage: Stage
    token: str = ""
    generation: int = -1
    lock: threading.Lock = field(default_factory=threading.Lock)
    refused: list[str] = field(default_factory=list)  # sign-ins the stage refused

    def bearer(self, renew: bool = False) -> str:
        """A token for the running stage; renewed after a restart or when refused."""
        self.stage.up.wait()
        with self.lock:
            if renew or self.generation != self.stage.generation:
                generation, config = self.stage.generation, self.stage.config
                try:
                    self.token = sign_in(config, self.user, PASSWORD)
                except ClientError as error:
                    if generation == self.stage.generation:  # not the restart's doing
                        self.refused.append(str(error))  # an answering stage knows everyone
                    raise
                self.generation = generation
            return self.token

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """The request, retried through a restart and through throttling, until answered."""
        renew = False
        for attempt in range(10_000):
            try:
                response = requests.request(
                    method,
                    f"{self.stage.url}/api{path}",
                    json=body,
                    params=params or None,
                    headers={"Authorization": f"Bearer {self.bearer(renew)}"},
                    timeout=15,
                )
            except Exception:  # the stage is down, or signing in failed while it came back
                time.sleep(min(1.0, 0.05 * 2**attempt))
                continue
            renew = response.status_code == 401  # a token of the stage before the restart
            if response.status_code == 429 and "Retry-After" in response.headers:
                time.sleep(int(response.headers["Retry-After"]))  # over a rate limit: as told
                continue
            if response.status_code in RETRYABLE or renew:
                time.sleep(min(1.0, 0.05 * 2 ** min(attempt, 5)))
                continue
            if response.status_code >= 400:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
            return response.json()
        raise RuntimeError(f"{method} {path}: never answered")


def sign_up(stage: Stage, user: str) -> None:
    cognito(stage.config).sign_up(
        ClientId=stage.config["userPoolClientId"], Username=user, Password=PASSWORD
    )


def catch_up(account: Account, room: str, after: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        page = account.call("GET", f"/rooms/{room}/events", after=after)["events"]
        events += page
        if len(page) < CATCH_UP_MAX:
            return events
        after = page[-1]["seq"]


class Tab(threading.Thread):
    """One socket of one member, as a client keeps it: reconnects when it drops, catches up by
    seq after connecting, and takes each room's seq once."""

    def __init__(self, account: Account, rooms: list[str], stopped: threading.Event) -> None:
        super().__init__(daemon=True, name=f"tab-{account.user}")
        self.account, self.rooms, self.stopped = account, rooms, stopped
        self.got: dict[str, set[int]] = {room: set() for room in rooms}
        self.segments: list[dict[str, list[int]]] = []  # per connection, seqs as first arrived
        self.out_of_order = 0
        self.frames = 0
        self.repeated = 0  # frames a connection got again (AWS delivers at least once)
        self.disorder: list[str] = []  # what arrived out of order, for the report
        self.texts: dict[tuple[str, int], str] = {}  # (room, seq) -> a message's text as framed
        self.typing = 0  # typing signals received

    def run(self) -> None:
        renew = False
        while not self.stopped.is_set():
            try:
                token = self.account.bearer(renew)
                url = f"{self.account.stage.url.replace('http', 'ws')}/ws?token={token}"
                with connect(url, open_timeout=10, close_timeout=1) as ws:
                    renew = False
                    self._serve(ws)
            except InvalidStatus:  # refused: a token of the stage before the restart
                renew = True
            except (OSError, InvalidHandshake, ConnectionClosed, RuntimeError):
                pass  # the stage is down or went down: connect again
            except ClientError:  # signing in was refused (counted): try again
                pass
            self.stopped.wait(0.2)

    def _serve(self, ws: ClientConnection) -> None:
        segment: dict[str, list[int]] = defaultdict(list)
        self.segments.append(segment)
        for room in self.rooms:  # what happened while this tab was away
            for event in catch_up(self.account, room, self.applied(room)):
                self.got[room].add(event["seq"])
        typed = time.monotonic()
        while not self.stopped.is_set():
            if time.monotonic() - typed > TYPING_EVERY_S:  # typing signals go by the bus
                typed = time.monotonic()
                ws.send(json.dumps({"action": "typing", "room_id": self.rooms[0]}))
            try:
                frame = json.loads(ws.recv(timeout=0.5))
            except TimeoutError:
                continue
            if frame.get("type") == "typing":
                self.typing += 1
            room, seq = frame.get("room_id"), frame.get("seq")
            if room not in self.got or not isinstance(seq, int):
                continue  # typing, an ack
            if seq in segment[room] or seq in self.got[room]:  # a client drops what it has
                self.repeated += 1
                continue
            if frame.get("type") == "message.created":
                self.texts[(room, seq)] = frame["data"]["text"]
            self.frames += 1
            if segment[room] and seq < max(segment[room]):
                self.out_of_order += 1
                self.disorder.append(
                    f"{self.account.user} connection {len(self.segments)} room {room[:8]}: "
                    f"{frame.get('type')} {seq} after {segment[room][-8:]}"
                )
            segment[room].append(seq)
            self.got[room].add(seq)

    def applied(self, room: str) -> int:
        """The highest seq up to which this tab has every event of the room."""
        seq = 0
        while seq + 1 in self.got[room]:
            seq += 1
        return seq

    def gaps_in_segments(self) -> int:
        return sum(
            max(seqs) - min(seqs) + 1 - len(seqs)
            for segment in self.segments
            for seqs in segment.values()
            if seqs
        )


@dataclass
class Sends:
    acked: dict[str, tuple[str, int]] = field(default_factory=dict)  # text -> (room, seq)
    errors: list[str] = field(default_factory=list)  # a sender that met an unexpected answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.acked)


def sender(room: str, number: int, members: list[Account], sends: int, done: Sends) -> None:
    for k in range(sends):
        text = f"soak {number}.{k}"
        body = {"text": text, "client_id": f"soak-{number}-{k}"}
        try:
            ack = members[k % len(members)].call("POST", f"/rooms/{room}/messages", body)
        except RuntimeError as error:
            with done.lock:
                done.errors.append(str(error))
            return
        with done.lock:
            done.acked[text] = (room, ack["seq"])


def chat(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def drift_of(output: str) -> int:
    """The drifted rows `chat replay --dry-run` reports."""
    found = re.findall(r"drift in \S+: (\d+) missing, (\d+) extra, (\d+) different", output)
    if not found:
        raise RuntimeError(f"chat replay printed no drift line:\n{output}")
    return sum(int(n) for line in found for n in line)


def history(account: Account, room: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        params = {"before": before} if before is not None else {}
        page = account.call("GET", f"/rooms/{room}/messages", **params)["messages"]
        if not page:
            return messages
        messages += page
        before = min(message["seq"] for message in page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=10_000)
    parser.add_argument("--rooms", type=int, default=8)
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--tabs", type=int, default=2)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--kind", action="store_true", help="without AWS's failure modes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep",
        type=Path,
        help="run the stage on this folder and keep it (log, logs, journal, delivery trace)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    modes = "off" if args.kind else "hostile"

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        # The stages it starts record how room events travel (local/delivery_trace.py).
        os.environ[delivery_trace.ENV] = str(args.keep.resolve() / "delivery.jsonl")
    with (
        nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory(prefix="soak-")
    ) as folder:
        stage = Stage(Path(folder), modes)
        figures: list[int] = []
        try:
            figures = soak(stage, args, rng)
        finally:
            stage.stop()
            if any(figures) or not figures:  # failed, or raised: what the stage said
                tail = (Path(folder) / "stage.log").read_text().splitlines()[-60:]
                print("  the stage's last lines:", *tail, sep="\n    ")
    sys.exit(1 if any(figures) else 0)


def soak(stage: Stage, args: argparse.Namespace, rng: random.Random) -> list[int]:
    stage.start()
    members, rooms = people_and_rooms(stage, args.rooms, args.members)
    print(
        f"soak: {args.rooms} rooms x {args.members} members x {args.tabs} tabs, "
        f"{args.sends} sends, kills {args.kills}, {stage.failure_modes} stage"
    )
    stopped = threading.Event()
    tabs = [
        Tab(account, [rooms[r]], stopped)
        for r, accounts in members.items()
        for account in accounts
        for _ in range(args.tabs)
    ]
    for tab in tabs:
        tab.start()
    done, repair = traffic(stage, members, rooms, args, rng)
    settle(tabs, done)
    stopped.set()
    for tab in tabs:
        tab.join(timeout=5)
    reader = {rooms[r]: accounts[0] for r, accounts in members.items()}
    views_caught_up(reader, done)
    return count(stage, tabs, done, repair, reader)


def people_and_rooms(
    stage: Stage, rooms: int, members: int
) -> tuple[dict[int, list[Account]], dict[int, str]]:
    people = {r: [Account(f"soak{r}x{m}", stage) for m in range(members)] for r in range(rooms)}
    for accounts in people.values():
        for account in accounts:
            sign_up(stage, account.user)
    room_ids = {
        r: accounts[0].call(
            "POST",
            "/rooms",
            {"name": f"soak {r}", "members": [a.user for a in accounts[1:]], "client_id": f"r{r}"},
        )["room_id"]
        for r, accounts in people.items()
    }
    return people, room_ids


def traffic(
    stage: Stage,
    members: dict[int, list[Account]],
    rooms: dict[int, str],
    args: argparse.Namespace,
    rng: random.Random,
) -> tuple[Sends, subprocess.CompletedProcess[str] | None]:
    """The senders, the kills at even shares of the sends, and one drift repair after the last
    kill, while the senders go on."""
    done = Sends()
    share = [args.sends // args.rooms + (r < args.sends % args.rooms) for r in range(args.rooms)]
    began = time.monotonic()
    senders = [
        threading.Thread(target=sender, args=(rooms[r], r, members[r], share[r], done), daemon=True)
        for r in range(args.rooms)
    ]
    for thread in senders:
        thread.start()
    kills_at = [args.sends * (k + 1) // (args.kills + 1) for k in range(args.kills)]
    repair_at = args.sends * (2 * args.kills + 1) // (2 * args.kills + 2)
    repaired: list[subprocess.CompletedProcess[str]] = []
    repairing = threading.Thread(
        target=lambda: repaired.append(
            chat("replay", "--local", "--state", str(stage.folder), "--in-place")
        ),
        daemon=True,
    )
    while any(thread.is_alive() for thread in senders):
        acked = done.count()
        if kills_at and acked >= kills_at[0]:
            kills_at.pop(0)
            time.sleep(rng.uniform(0, 0.3))  # a random instant, sends in flight
            stage.kill_and_restart()
            print(f"  killed at {acked} acknowledged, answering in {stage.restarts[-1]:.1f} s")
        if not repairing.ident and acked >= repair_at:
            print(f"  drift repair started at {acked} acknowledged, traffic going on")
            repairing.start()
        time.sleep(0.02)
    sending_s = time.monotonic() - began
    if repairing.ident:
        repairing.join(timeout=600)
    outcome = repaired[0] if repaired else None
    print(
        f"  {done.count()} acknowledged in {sending_s:.1f} s ({done.count() / sending_s:.1f}/s); "
        f"repair during traffic: exit {outcome.returncode if outcome else 'none'}"
    )
    return done, outcome


def settle(tabs: list[Tab], done: Sends) -> None:
    """Wait until every tab has every acknowledged seq of its rooms, or nothing new has come for
    QUIET_S."""
    expected = expected_seqs(done)

    def lacking() -> int:
        return sum(len(expected[room] - tab.got[room]) for tab in tabs for room in tab.rooms)

    until_none_left(lacking, every_s=0.2)


def until_none_left(left: Callable[[], int], every_s: float) -> None:
    """Look again every `every_s` until `left()` is 0, or it has not gone down for QUIET_S."""
    last, since = left(), time.monotonic()
    while last and time.monotonic() - since < QUIET_S:
        time.sleep(every_s)
        now = left()
        if now < last:
            last, since = now, time.monotonic()


def views_caught_up(reader: dict[str, Account], done: Sends) -> None:
    """Wait until each room's history shows its last acknowledged message, or it has not moved
    for QUIET_S: the views are eventually consistent, and a projector that fell behind under the
    load is still applying what the tabs already read from the log."""
    last_acked = {room: max(seqs) for room, seqs in expected_seqs(done).items()}

    def behind() -> int:
        newest = {
            room: max(
                (m["seq"] for m in account.call("GET", f"/rooms/{room}/messages")["messages"]),
                default=0,
            )
            for room, account in reader.items()
        }
        return sum(max(0, last_acked.get(room, 0) - newest[room]) for room in reader)

    until_none_left(behind, every_s=0.5)


def expected_seqs(done: Sends) -> dict[str, set[int]]:
    expected: dict[str, set[int]] = defaultdict(set)
    for room, seq in done.acked.values():
        expected[room].add(seq)
    return expected


def count(
    stage: Stage,
    tabs: list[Tab],
    done: Sends,
    repair: subprocess.CompletedProcess[str] | None,
    reader: dict[str, Account],
) -> list[int]:
    lost = duplicated = garbled = 0
    missed: list[str] = []
    for room, account in reader.items():
        logged = Counter(
            (event["data"]["text"], event["seq"])
            for event in catch_up(account, room, 0)
            if event["type"] == "message.created"
        )
        text_at = {seq: text for text, seq in logged}
        garbled += sum(  # a frame that says other than the log
            text_at.get(seq) != text
            for tab in tabs
            for (framed_room, seq), text in tab.texts.items()
            if framed_room == room
        )
        shown = Counter((m["text"], m["seq"]) for m in history(account, room))
        mine = {(text, seq) for text, (r, seq) in done.acked.items() if r == room}
        lost += len(mine - set(logged)) + len(mine - set(shown))
        seq_of = {text: seq for text, seq in logged}
        missed += [
            f"{text!r} acknowledged as {seq}, in the log at {seq_of.get(text)}, "
            f"in the history: {(text, seq) in shown}"
            for text, seq in sorted(mine - set(logged) | mine - set(shown))
        ]
        duplicated += sum(n - 1 for n in logged.values()) + sum(n - 1 for n in shown.values())
        duplicated += len(logged) - len({text for text, _ in logged})
    expected = expected_seqs(done)
    out_of_order = sum(tab.out_of_order for tab in tabs)
    missing = sum(len(expected[room] - tab.got[room]) for tab in tabs for room in tab.rooms)
    gaps = sum(tab.gaps_in_segments() for tab in tabs) + missing
    drift = drift_of(chat("replay", "--local", "--state", str(stage.folder), "--dry-run").stdout)
    frames = sum(tab.frames for tab in tabs)
    connections = sum(len(tab.segments) for tab in tabs)
    acked = done.count()
    typing = sum(tab.typing for tab in tabs)
    repeated = sum(tab.repeated for tab in tabs)
    print(
        f"  {frames} frames and {typing} typing signals on {connections} connections; "
        f"acknowledged {acked}, lost {lost}, "
        f"duplicated {duplicated}, out of order {out_of_order}, gaps {gaps} ({missing} never "
        f"reached a tab), drift {drift}"
    )
    print(
        f"  {repeated} frames a connection got twice (dropped by seq, as clients do); "
        f"{garbled} frames that differ from the log"
    )
    played = ", ".join(f"{kind} {n}" for kind, n in sorted(stage.played().items()))
    print(f"  failures played by the stage: {played or 'none'}")
    for line in missed[:10]:
        print(f"  lost: {line}")
    for line in [line for tab in tabs for line in tab.disorder][:10]:
        print(f"  out of order: {line}")
    if out_of_order and os.environ.get(delivery_trace.ENV):
        print(f"  how each room event travelled: {os.environ[delivery_trace.ENV]}")
    for error in done.errors:
        print(f"  a sender stopped: {error}")
    accounts = {tab.account.user: tab.account for tab in tabs}.values()
    refused = [error for account in accounts for error in account.refused]
    for error in sorted(set(refused)):
        print(f"  a sign-in was refused: {error}")
    failed_repair = int(repair is not None and repair.returncode != 0)
    if repair is not None and failed_repair:
        print(f"  the repair during traffic failed:\n{repair.stdout}{repair.stderr}")
    print(
        f"soak: {acked} acked, {lost} lost, {duplicated} duplicated, "
        f"{out_of_order} out of order, drift {drift}"
    )
    failures = failed_repair + len(done.errors) + len(refused) + garbled
    return [lost, duplicated, out_of_order, gaps + failures, drift]


if __name__ == "__main__":
    main()

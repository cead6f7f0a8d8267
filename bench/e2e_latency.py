"""End-to-end latency on the local stage: N WebSocket clients in M rooms, messages sent at a fixed
rate; for every delivery to another member, the time from send to receive.

    uv run python -m bench.e2e_latency [--clients 100] [--rooms 10] [--rates 5,10,20] [--seconds 10]
                                       [--stages off,hostile]

The local stage runs in this process (gateway, pumps and functions) as `make dev` runs it, and
the clients in a process of their own (as browsers would be, they do not share the stage's
interpreter), so the figures include all of the stage's hops: command path, stream pump,
projector, bus, broadcaster, @connections, socket. Each round also prints the CPU time each
process spent per message (the stage, the clients, the two moto servers): times the rate, it is
how many of the machine's cores the round kept busy.

`--stages` runs the rounds on a kind stage and on a hostile one (local/chaos.py: DynamoDB
throttling, failed and timed-out invocations, an unordered bus that delivers twice, @connections
429s), one after the other, so the cost of surviving AWS's failure modes is beside the kind
figures. A delivery whose batch failed comes back after the queue's visibility timeout (30 s), as
on AWS: a round waits up to LATE_S for every delivery, and its p99 shows them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import connect

from adapters.event_store import DynamoEventStore
from application.service import ChatService
from local import chaos
from local.stage import LocalStage

LATE_S = 100.0  # how long a round waits for its last deliveries (a failed one: 30 s or more)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes() -> dict[str, int]:
    """This process (the stage) and its moto servers, named by what they serve."""
    dynamodb_port = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB", "").rpartition(":")[2]
    found = {"stage": os.getpid()}
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in map(int, children.read_text().split()):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"local.moto_server" in command:
                port = command[command.index(b"--port") + 1].decode()
                found["moto dynamodb" if port == dynamodb_port else "moto other"] = pid
    return found


@dataclass
class Round:
    rate: float
    sent: int = 0
    expected: int = 0  # deliveries to other members
    latencies: list[float] = field(default_factory=list)
    delivered: set[tuple[str, str]] = field(default_factory=set)  # (text, user), first arrivals
    cpu_ms_per_message: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Workload:
    """What the clients' process is given: where to connect, as whom, and what to send."""

    ws_url: str
    tokens: dict[str, str]  # user -> ID token
    rooms: dict[str, list[str]]  # room id -> its members
    rates: list[float]  # messages per second, one round each
    seconds: float  # a round's length
    watched: dict[str, int]  # processes whose CPU each round reports, by name


def run_clients(work: Workload) -> list[Round]:
    """The clients' process: every round, sent and received on one clock."""
    random.seed(7)
    return asyncio.run(run(work))


async def run(work: Workload) -> list[Round]:
    rooms, rates, seconds = work.rooms, work.rates, work.seconds
    sent_at: dict[str, float] = {}
    current = Round(0)
    room_of = {user: room for room, users in rooms.items() for user in users}
    sockets = {
        user: await connect(f"{work.ws_url}?token={token}") for user, token in work.tokens.items()
    }

    async def listen(user: str) -> None:
        async for raw in sockets[user]:
            frame = json.loads(raw)
            if frame.get("type") == "message.created" and frame["actor"] != user:
                text = frame["data"]["text"]
                started = sent_at.get(text)
                if started is not None and (text, user) not in current.delivered:
                    current.delivered.add((text, user))  # a redelivery is dropped, by seq
                    current.latencies.append(time.perf_counter() - started)

    listeners = [asyncio.create_task(listen(user)) for user in sockets]
    users = list(sockets)
    rounds = []
    watched = {**work.watched, "clients": os.getpid()}
    for number, rate in enumerate(rates):
        current = Round(rate)
        sent_at.clear()  # a late redelivery of an earlier round's message is not this round's
        before = {name: cpu_seconds(pid) for name, pid in watched.items()}
        began = time.perf_counter()
        for i in range(int(rate * seconds)):
            user = random.choice(users)
            text = f"r{number}-{rate:g}-m{i}"
            sent_at[text] = time.perf_counter()
            frame = {"action": "send", "room_id": room_of[user], "text": text, "client_id": text}
            await sockets[user].send(json.dumps(frame))
            current.sent += 1
            current.expected += len(rooms[room_of[user]]) - 1
            await asyncio.sleep(max(0.0, began + (i + 1) / rate - time.perf_counter()))
        deadline = time.perf_counter() + LATE_S
        while len(current.delivered) < current.expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)  # the last deliveries
        current.cpu_ms_per_message = {
            name: 1000 * (cpu_seconds(pid) - before[name]) / max(1, current.sent)
            for name, pid in watched.items()
        }
        rounds.append(current)
    for listener in listeners:
        listener.cancel()
    for socket in sockets.values():
        await socket.close()
    return rounds


# A fixed piece of work (JSON of a chat-sized document, both ways), timed in the same run before
# and after the rounds: this shared VM's speed drifts by 2x from one day to the next, and CPU per
# message compares across days only as a multiple of it (a rough one: the stage's CPU is mostly
# interpreted code and system time, which need not drift alike).
REFERENCE_DOCUMENT = {
    "type": "message.created",
    "room_id": "r" * 30,
    "seq": 12345,
    "data": {"text": "hello " * 20, "attachments": [{"key": "k" * 40, "size": 1234}] * 3},
    "members": [f"user{i:03d}" for i in range(10)],
}


def reference_ms() -> float:
    """CPU milliseconds of the reference work, the median of five."""
    times = []
    for _ in range(5):
        began = time.process_time()
        for _ in range(2000):
            json.loads(json.dumps(REFERENCE_DOCUMENT))
        times.append(1000 * (time.process_time() - began))
    return statistics.median(times)


def report(
    round_: Round, clients: int, rooms: int, seconds: float, stage: str, reference: float
) -> None:
    print(
        f"e2e latency: {clients} clients in {rooms} rooms, {round_.rate:g} msg/s for {seconds:g} s"
        f", {stage} stage"
    )
    print(
        f"  sent {round_.sent} messages, {len(round_.latencies)} of {round_.expected} deliveries "
        "to other members"
    )
    if round_.latencies:
        ms = [1000 * value for value in round_.latencies]
        print(f"  send->receive p50 {statistics.median(ms):6.1f} ms")
        print(f"  send->receive p95 {percentile(ms, 0.95):6.1f} ms")
        print(f"  send->receive p99 {percentile(ms, 0.99):6.1f} ms  (target <= 150 ms at 20 msg/s)")
        print(f"  deliveries/s      {len(round_.latencies) / seconds:6.1f}")
    cpu = ", ".join(f"{name} {value:.0f} ms" for name, value in round_.cpu_ms_per_message.items())
    print(f"  CPU per message: {cpu} (x rate = cores busy)")
    total = sum(round_.cpu_ms_per_message.values())
    print(
        f"  CPU per message, all processes: {total:.0f} ms = {total / reference:.1f}x the "
        f"reference work ({reference:.1f} ms on this machine in this run)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument(
        "--rates", default="5,10,20", help="messages per second, one round each (comma-separated)"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--stages", default="off,hostile", help="failure modes of each stage (local/chaos.py)"
    )
    args = parser.parse_args()
    rates = [float(rate) for rate in args.rates.split(",")]
    for modes in args.stages.split(","):
        before = reference_ms()
        rounds, rooms = measure(args.clients, args.rooms, rates, args.seconds, chaos.named(modes))
        reference = (before + reference_ms()) / 2  # the machine's speed around these rounds
        for round_ in rounds:
            report(round_, args.clients, rooms, args.seconds, modes, reference)


def measure(
    clients: int, room_count: int, rates: list[float], seconds: float, failure_modes: chaos.Chaos
) -> tuple[list[Round], int]:
    with LocalStage(  # as `make dev` runs
        prefix="latency", quiet_collections=True, chaos=failure_modes
    ) as stage:
        users = [f"user{i:03d}" for i in range(clients)]
        tokens = {}
        for user in users:
            stage.add_user(user, "Bench-password-1")
            tokens[user] = stage.sign_in(user, "Bench-password-1")["IdToken"]
        chat = ChatService(DynamoEventStore(stage.events_table))
        size = max(1, clients // room_count)
        rooms = {}
        for start in range(0, clients, size):
            members = users[start : start + size]
            rooms[
                chat.create_room(members[0], f"room {start // size}", tuple(members[1:])).room_id
            ] = members
        time.sleep(2)  # the memberships reach the views
        work = Workload(stage.config["wsUrl"], tokens, rooms, rates, seconds, processes())
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as process:
            return process.submit(run_clients, work).result(), len(rooms)


if __name__ == "__main__":
    main()

"""End-to-end latency on the local stage: N WebSocket clients in M rooms, messages sent at a fixed
rate; for every delivery to another member, the time from send to receive.

    uv run python -m bench.e2e_latency [--clients 100] [--rooms 10] [--rate 20] [--seconds 10]

The local stage runs in this process (gateway, pumps and functions), so the figures include all
of its hops: command path, stream pump, projector, bus, broadcaster, @connections, socket.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time

from websockets.asyncio.client import connect

from adapters.event_store import DynamoEventStore
from application.service import ChatService
from local.stage import LocalStage


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(
    stage: LocalStage,
    tokens: dict[str, str],
    rooms: dict[str, list[str]],
    rate: float,
    seconds: float,
) -> tuple[list[float], int]:
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    room_of = {user: room for room, users in rooms.items() for user in users}
    sockets = {
        user: await connect(f"{stage.config['wsUrl']}?token={token}")
        for user, token in tokens.items()
    }

    async def listen(user: str) -> None:
        async for raw in sockets[user]:
            frame = json.loads(raw)
            if frame.get("type") == "message.created" and frame["actor"] != user:
                started = sent_at.get(frame["data"]["text"])
                if started is not None:
                    latencies.append(time.perf_counter() - started)

    listeners = [asyncio.create_task(listen(user)) for user in sockets]
    users = list(sockets)
    count = int(rate * seconds)
    began = time.perf_counter()
    for i in range(count):
        user = random.choice(users)
        text = f"m{i}"
        sent_at[text] = time.perf_counter()
        await sockets[user].send(
            json.dumps(
                {"action": "send", "room_id": room_of[user], "text": text, "client_id": text}
            )
        )
        await asyncio.sleep(max(0.0, began + (i + 1) / rate - time.perf_counter()))
    await asyncio.sleep(3)  # the last deliveries
    for listener in listeners:
        listener.cancel()
    for socket in sockets.values():
        await socket.close()
    return latencies, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    random.seed(7)
    with LocalStage(prefix="latency") as stage:
        users = [f"user{i:03d}" for i in range(args.clients)]
        tokens = {}
        for user in users:
            stage.add_user(user, "Bench-password-1")
            tokens[user] = stage.sign_in(user, "Bench-password-1")["IdToken"]
        chat = ChatService(DynamoEventStore(stage.events_table))
        size = max(1, args.clients // args.rooms)
        rooms = {}
        for start in range(0, args.clients, size):
            members = users[start : start + size]
            rooms[
                chat.create_room(members[0], f"room {start // size}", tuple(members[1:])).room_id
            ] = members
        time.sleep(2)  # the memberships reach the views
        latencies, sent = asyncio.run(run(stage, tokens, rooms, args.rate, args.seconds))

    shape = (
        f"{args.clients} clients in {len(rooms)} rooms, {args.rate:g} msg/s for {args.seconds:g} s"
    )
    print(f"e2e latency: {shape}")
    print(f"  sent {sent} messages, {len(latencies)} deliveries to other members")
    if latencies:
        ms = [1000 * value for value in latencies]
        print(f"  send->receive p50 {statistics.median(ms):6.1f} ms")
        print(f"  send->receive p95 {percentile(ms, 0.95):6.1f} ms")
        print(f"  send->receive p99 {percentile(ms, 0.99):6.1f} ms  (target <= 150 ms)")
        print(f"  deliveries/s      {len(latencies) / args.seconds:6.1f}")


if __name__ == "__main__":
    main()

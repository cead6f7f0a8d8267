"""Fan-out cost: DynamoDB reads and @connections posts per delivered message, with 100 and with
1,000 connected clients outside the room. The reads must not grow with bystanders.

    uv run python -m bench.fanout [--members 20] [--tabs 2]
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

from adapters.aws import client
from adapters.connections import DynamoConnections
from adapters.event_store import DynamoEventStore
from adapters.view_store import DynamoViewStore
from application.fanout import fan_out, recipients
from application.projector import StreamProjector
from application.service import ChatService
from domain.ids import room_stream
from domain.public import detail
from local.moto_process import moto_server
from local.provision import provision


class CountingPoster:
    def __init__(self) -> None:
        self.posts = 0

    def post(self, connection_id: str, data: bytes) -> None:
        self.posts += 1


class NoBus:
    def publish(self, envelopes: object) -> None:
        pass


def count_reads(dynamodb: Any) -> list[int]:
    """A counter of DynamoDB read requests made through this client."""
    reads = [0]

    def counted(**_: Any) -> None:
        reads[0] += 1

    for operation in ("GetItem", "Query", "Scan", "BatchGetItem"):
        dynamodb.meta.events.register(f"before-call.dynamodb.{operation}", counted)
    return reads


def measure(bystanders: int, members: int, tabs: int) -> tuple[float, float, int]:
    stage = provision(f"fan{uuid.uuid4().hex[:6]}")
    dynamodb = client("dynamodb")
    events = DynamoEventStore(stage.tables["events"], dynamodb)
    views = DynamoViewStore(stage.tables["views"], dynamodb)
    connections = DynamoConnections(stage.tables["connections"], dynamodb)
    chat = ChatService(events)
    people = [f"member{i}" for i in range(members)]
    room = chat.create_room(people[0], "busy", tuple(people[1:]))
    now = int(time.time() * 1000)
    for person in people:
        for tab in range(tabs):
            connections.add(person, f"{person}-tab{tab}", now)
    for i in range(bystanders):
        connections.add(f"bystander{i}", f"bystander{i}-tab", now)
    sent = chat.send(people[0], room.room_id, "hello everyone")
    assert sent.message is not None
    StreamProjector(views, NoBus()).project_events(
        list(events.read_stream(room_stream(room.room_id)))
    )

    reads, poster = count_reads(dynamodb), CountingPoster()
    body = detail(sent.message)
    users = recipients("message.created", body, views.members)
    delivery = fan_out({"type": "message.created", **body}, users, connections, poster)
    return reads[0] / delivery.sent, poster.posts / delivery.sent, delivery.sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--tabs", type=int, default=2)
    args = parser.parse_args()
    with moto_server():
        print(f"fan-out benchmark: a room of {args.members} members with {args.tabs} tabs each")
        results = {}
        for bystanders in (100, 1000):
            reads, posts, delivered = measure(bystanders, args.members, args.tabs)
            results[bystanders] = reads
            print(
                f"  {bystanders:5d} bystanders: {delivered} deliveries, "
                f"{reads:.3f} DynamoDB reads and {posts:.2f} posts per delivered message"
            )
        print(
            f"  ratio reads(1000) / reads(100): {results[1000] / results[100]:.2f}  (must be 1.00)"
        )


if __name__ == "__main__":
    main()

"""Append throughput: commands/s through the application service against the local moto server,
beside the raw `put_item` rate measured in the same run, and the view writes one message costs.

    uv run python -m bench.append [--commands 100] [--repeats 9]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

from adapters.aws import client
from adapters.event_codec import to_event_item
from adapters.event_store import DynamoEventStore
from adapters.view_store import DynamoViewStore
from application.projector import StreamProjector
from application.service import ChatService
from domain.events import Envelope, MessageCreated
from domain.ids import room_stream
from domain.limits import MAX_INITIAL_MEMBERS
from local.moto_process import moto_server
from local.provision import provision

TEXT = "a realistic chat message of about sixty characters, give or take"


class NoBus:
    def publish(self, envelopes: object) -> None:
        pass


def rate(count: int, action: Callable[[int], object]) -> float:
    started = time.perf_counter()
    for i in range(count):
        action(i)
    return count / (time.perf_counter() - started)


def cost_of_a_message(
    chat: ChatService, store: DynamoEventStore, views: DynamoViewStore, size: int
) -> tuple[int, int]:
    """View writes, and bytes of the stream head rewritten, for one message in a room of `size`."""
    members = tuple(f"member{i}" for i in range(1, size))
    room = chat.create_room("member0", f"room of {size}", members[: MAX_INITIAL_MEMBERS - 1])
    for user in members[MAX_INITIAL_MEMBERS - 1 :]:
        chat.invite("member0", room.room_id, user)
    sent = chat.send("member0", room.room_id, TEXT)
    envelope = sent.message
    assert envelope is not None
    before = views.calls
    StreamProjector(views, NoBus()).project_events([envelope])
    key = {"pk": {"S": envelope.stream}, "sk": {"N": "0"}}
    head = store.dynamodb.get_item(TableName=store.table, Key=key)["Item"]
    return views.calls - before, len(head["state"]["S"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=9, help="alternating rounds")
    args = parser.parse_args()
    n = args.commands

    with moto_server():
        stage = provision(f"bench{uuid.uuid4().hex[:6]}")
        dynamodb = client("dynamodb")
        store = DynamoEventStore(stage.tables["events"], dynamodb)
        views = DynamoViewStore(stage.tables["views"], dynamodb)
        chat = ChatService(store)
        room = chat.create_room("alice", "bench", ("bob",))
        sample = Envelope(
            room_stream("raw"),
            1,
            "message.created",
            1,
            "2026-11-25T10:00:00.000Z",
            "alice",
            "e" * 26,
            "c" * 26,
            MessageCreated(TEXT, 1, "client-id"),
        )

        def raw_put(i: int) -> None:
            item = to_event_item(sample)
            item["pk"] = {"S": room_stream(f"raw{i % 50}")}
            item["sk"] = {"N": str(i + 1)}
            dynamodb.put_item(TableName=stage.tables["events"], Item=item)

        serial = iter(range(10**9))

        def send(i: int) -> None:
            chat.send("alice", room.room_id, TEXT, client_id=f"c{next(serial)}")

        raw_rates, service_rates = [], []
        rate(20, raw_put)
        rate(20, send)  # warm both paths
        calls_before, sends = store.calls, 0
        for _ in range(args.repeats):
            raw_rates.append(rate(n, raw_put))
            service_rates.append(rate(n, send))
            sends += n
        calls_per_command = (store.calls - calls_before) / sends

        print(f"append benchmark: {n} commands x {args.repeats} repeats against moto on 127.0.0.1")
        raw, service = statistics.median(raw_rates), statistics.median(service_rates)
        print(f"  raw put_item            {raw:8.0f} items/s (median)")
        print(f"  ChatService.send        {service:8.0f} commands/s (median)")
        print(
            f"  DynamoDB calls/command  {calls_per_command:8.2f}"
            "  (one consistent read, one transactional write)"
        )
        for size in (2, 50, 500):
            writes, head = cost_of_a_message(chat, store, views, size)
            print(
                f"  per message, room of {size:3d} members: {writes} view writes, "
                f"stream head of {head} bytes"
            )
        # Each round measures both back to back, so the median of the rounds' own ratios is the
        # figure least moved by the machine's drift between rounds.
        ratio = statistics.median(s / r for s, r in zip(service_rates, raw_rates, strict=True))
        print(f"  ratio service/raw       {ratio:8.2f}  (median of rounds; target >= 0.4)")


if __name__ == "__main__":
    main()

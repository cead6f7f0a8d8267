"""`chat replay` and `chat export`, against a stage whose views the projector built."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from adapters.aws import client
from adapters.event_store import DynamoEventStore
from adapters.view_store import DynamoViewStore
from application.projector import StreamProjector
from application.service import ChatService
from domain.events import decode_envelope
from local.provision import Stage
from ops.cli import main


class NoBus:
    def publish(self, envelopes: object) -> None:
        pass


@pytest.fixture
def live(event_store: DynamoEventStore, view_store: DynamoViewStore) -> ChatService:
    """A small chat history, projected into the live views event by event."""
    minutes = itertools.count()
    ids = itertools.count()
    chat = ChatService(
        event_store,
        clock=lambda: f"2026-11-25T10:{next(minutes):02d}:00.000Z",
        ids=lambda: f"id{next(ids)}",
    )
    room = chat.create_room("alice", "General", ("bob",))
    first = chat.send("alice", room.room_id, "first")
    chat.send("bob", room.room_id, "second")
    chat.edit("alice", room.room_id, first.seq, "first, edited")
    chat.mark_read("bob", room.room_id, 3)
    dm = chat.open_dm("bob", "carol")
    chat.send("carol", dm.room_id, "hey bob")
    StreamProjector(view_store, NoBus()).project_events(
        sorted(event_store.scan(), key=lambda e: (e.at, e.stream, e.version))
    )
    return chat


def test_a_dry_run_on_faithful_views_finds_no_drift(
    live: ChatService, stage: Stage, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", "--prefix", stage.prefix, "--dry-run"]) == 0
    assert "0 missing, 0 extra, 0 different" in capsys.readouterr().out


def test_a_dry_run_reports_every_drifted_row_and_in_place_repairs_them(
    live: ChatService, stage: Stage, view_store: DynamoViewStore, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb, table = client("dynamodb"), stage.tables["views"]
    rows = sorted(view_store.scan_rows(), key=lambda r: (r["pk"], r["sk"]))
    message = next(r for r in rows if r["sk"].startswith("msg#"))
    member = next(r for r in rows if r["sk"].startswith("member#"))
    dynamodb.delete_item(
        TableName=table, Key={"pk": {"S": member["pk"]}, "sk": {"S": member["sk"]}}
    )
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": message["pk"]}, "sk": {"S": message["sk"]}},
        UpdateExpression="SET #t = :t",
        ExpressionAttributeNames={"#t": "text"},
        ExpressionAttributeValues={":t": {"S": "tampered"}},
    )
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "room#ghost"}, "sk": {"S": "meta"}})

    assert main(["replay", "--prefix", stage.prefix, "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "1 missing, 1 extra, 1 different" in out
    assert message["sk"] in out and member["sk"] in out and "room#ghost" in out

    assert main(["replay", "--prefix", stage.prefix, "--in-place"]) == 0
    assert main(["replay", "--prefix", stage.prefix, "--dry-run"]) == 0
    assert sorted(view_store.scan_rows(), key=lambda r: (r["pk"], r["sk"])) == rows


def test_a_replay_into_a_fresh_table_rebuilds_the_live_views_exactly(
    live: ChatService, stage: Stage, view_store: DynamoViewStore
) -> None:
    fresh = f"{stage.prefix}-views-rebuilt"

    assert main(["replay", "--prefix", stage.prefix, "--into", fresh]) == 0

    def rows(store: DynamoViewStore) -> list[dict[str, object]]:
        return sorted(store.scan_rows(), key=lambda r: (str(r["pk"]), str(r["sk"])))

    assert rows(DynamoViewStore(fresh)) == rows(view_store)


@pytest.mark.parametrize(
    "until", ["2026-11-25T10:01:00.000Z", "2026-11-25T11:01+01:00", "2026-11-25T10:01:30"]
)
def test_a_replay_until_a_time_leaves_out_later_events(
    live: ChatService, stage: Stage, until: str
) -> None:
    fresh = f"{stage.prefix}-views-early"

    assert main(["replay", "--prefix", stage.prefix, "--until", until, "--into", fresh]) == 0

    early = DynamoViewStore(fresh)
    rooms = [r for r in early.scan_rows() if r["sk"] == "meta"]
    assert len(rooms) == 1 and rooms[0]["message_count"] == 1
    assert [m["text"] for m in early.messages(rooms[0]["room_id"])] == ["first"]


def test_an_export_writes_the_log_as_json_lines_in_stream_order(
    live: ChatService, stage: Stage, tmp_path: Path
) -> None:
    out = tmp_path / "log.jsonl"

    assert main(["export", "--prefix", stage.prefix, "--out", str(out)]) == 0

    envelopes = [decode_envelope(line) for line in out.read_bytes().splitlines()]
    assert len(envelopes) == 7
    assert envelopes == sorted(envelopes, key=lambda e: (e.stream, e.version))


def test_live_views_cannot_be_rolled_back_to_a_time(live: ChatService, stage: Stage) -> None:
    with pytest.raises(SystemExit):
        main(["replay", "--prefix", stage.prefix, "--in-place", "--until", "2026-11-25T10:01:00Z"])


def test_nothing_is_written_while_some_events_cannot_be_read(
    live: ChatService, stage: Stage, view_store: DynamoViewStore
) -> None:
    client("dynamodb").put_item(
        TableName=stage.tables["events"],
        Item={
            "pk": {"S": "room#from-the-future"},
            "sk": {"N": "1"},
            "type": {"S": "room.created"},
            "v": {"N": "99"},
            "at": {"S": "2026-11-25T10:00:00.000Z"},
            "actor": {"S": "alice"},
            "event_id": {"S": "e"},
            "command_id": {"S": "c"},
            "data": {"S": "{}"},
        },
    )
    before = sorted(view_store.scan_rows(), key=lambda r: (r["pk"], r["sk"]))
    view_store.delete_rows([(before[0]["pk"], before[0]["sk"])])

    assert main(["replay", "--prefix", stage.prefix, "--in-place"]) == 1
    assert main(["replay", "--prefix", stage.prefix, "--into", f"{stage.prefix}-never"]) == 1

    assert len(list(view_store.scan_rows())) == len(before) - 1
    tables = client("dynamodb").list_tables()["TableNames"]
    assert f"{stage.prefix}-never" not in tables

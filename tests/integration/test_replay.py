"""`chat replay` and `chat export`, against a stage whose views the projector built."""

from __future__ import annotations

import io
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from adapters.aws import client
from adapters.event_codec import from_event_item
from adapters.event_store import DynamoEventStore
from adapters.view_store import DynamoViewStore
from application.projector import StreamProjector
from application.service import ChatService, Outcome
from domain.events import decode_envelope
from domain.projection import Row, inbox_key, member_key, message_key, room_key
from local.provision import Stage
from ops.cli import main
from ops.replay import Fold, check_views, drift, fold_log, recheck, repair


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


# --- drift check and repair on a live stage: the projector keeps writing after the read ---------


def project(view_store: DynamoViewStore, outcomes: Iterable[Outcome]) -> None:
    """What the projector does with the events of these commands, in order."""
    events = [event for outcome in outcomes for event in outcome.events]
    StreamProjector(view_store, NoBus()).project_events(events)


def read_log(event_store: DynamoEventStore) -> Fold:
    folded, unreadable = fold_log(event_store.scan_items(), from_event_item)
    assert not unreadable
    return folded


def all_rows(store: DynamoViewStore) -> list[Row]:
    return sorted(store.scan_rows(), key=lambda r: (str(r["pk"]), str(r["sk"])))


def general(view_store: DynamoViewStore) -> str:
    return str(next(r["room_id"] for r in view_store.scan_rows() if r.get("name") == "General"))


def check(folded: Fold, view_store: DynamoViewStore, in_place: bool = False) -> tuple[int, str]:
    """`chat replay --dry-run` (or `--in-place`) with this fold, not waiting for the projector."""
    out = io.StringIO()
    status = check_views(folded, view_store, in_place=in_place, settle=0, out=out)
    return status, out.getvalue()


def test_rows_the_projector_wrote_after_the_read_are_neither_drift_nor_undone(
    live: ChatService, event_store: DynamoEventStore, view_store: DynamoViewStore
) -> None:
    room = general(view_store)
    folded = read_log(event_store)
    # After the read: new messages (rows the read never saw), an edit of an old message, read
    # markers (a reader's stream the read never saw, and one it did), a new room, a leave.
    later = [live.send("bob", room, f"late {i}") for i in range(4)]
    later += [
        live.edit("alice", room, 2, "edited after the read"),
        live.mark_read("alice", room, later[-1].seq),
        live.mark_read("bob", room, later[0].seq),
        live.create_room("carol", "Later", ("alice",)),
        live.invite("alice", room, "dave"),
        live.leave("dave", room),
    ]
    project(view_store, later)
    before = all_rows(view_store)

    report = recheck(drift(folded, view_store.scan_rows()), folded, view_store, 0)
    assert report.total == 0
    assert report.newer >= 10  # 4 messages, the edited one, the room, inboxes, members...

    for in_place in (False, True):
        status, out = check(folded, view_store, in_place=in_place)
        assert status == 0 and "0 missing, 0 extra, 0 different" in out
        assert f"not drift: {report.newer} rows newer than the log read" in out
    assert all_rows(view_store) == before


def test_rows_only_behind_the_read_are_waited_for_then_repaired_if_the_projector_never_comes(
    live: ChatService, event_store: DynamoEventStore, view_store: DynamoViewStore
) -> None:
    room = general(view_store)
    unprojected = [live.send("alice", room, f"not projected yet {i}") for i in range(3)]
    unprojected.append(live.mark_read("bob", room, unprojected[-1].seq))
    folded = read_log(event_store)  # the read sees events the projector has not applied

    candidates = drift(folded, view_store.scan_rows())
    assert candidates.total and set(candidates.behind) == set(candidates.rows)

    # The projector applies them while the check waits: no drift.
    printed = io.StringIO()
    status = check_views(
        folded, view_store, settle=5, out=printed, sleep=lambda _: project(view_store, unprojected)
    )
    assert status == 0, printed.getvalue()
    assert "0 missing, 0 extra, 0 different" in printed.getvalue()
    assert "rows the projector applied during the check" in printed.getvalue()

    # Events the projector does not apply within the wait are drift, named as behind the log,
    # and the repair writes what the projector would have written: when it comes, it is a no-op.
    more = [live.send("bob", room, "stuck"), live.mark_read("alice", room, 2)]
    folded = read_log(event_store)
    status, out = check(folded, view_store)
    assert status == 1 and "[projector behind the log]" in out
    assert message_key(room, more[0].seq)[1] in out
    status, out = check(folded, view_store, in_place=True)
    assert status == 0 and "repaired: " in out
    repaired = all_rows(view_store)
    project(view_store, more)
    assert all_rows(view_store) == repaired
    assert check(read_log(event_store), view_store)[0] == 0


def test_a_repair_leaves_alone_what_the_projector_writes_after_the_check(
    live: ChatService, event_store: DynamoEventStore, view_store: DynamoViewStore, stage: Stage
) -> None:
    room, dynamodb, table = general(view_store), client("dynamodb"), stage.tables["views"]
    folded = read_log(event_store)
    head = folded.covered[f"room#{room}"]
    # Real drift: a tampered message, and a stray row where the next message will go.
    tampered = message_key(room, 2)
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": tampered[0]}, "sk": {"S": tampered[1]}},
        UpdateExpression="SET #t = :t",
        ExpressionAttributeNames={"#t": "text"},
        ExpressionAttributeValues={":t": {"S": "tampered"}},
    )
    stray = message_key(room, head + 1)
    dynamodb.put_item(
        TableName=table,
        Item={"pk": {"S": stray[0]}, "sk": {"S": stray[1]}, "text": {"S": "junk"}},
    )
    report = recheck(drift(folded, view_store.scan_rows()), folded, view_store, 0)
    assert report.different == [tampered] and report.extra == [stray]

    # Before the repair runs, the projector applies events after the read to both rows.
    later = [live.send("bob", room, "sent after the read"), live.edit("alice", room, 2, "mine")]
    assert later[0].seq == head + 1
    project(view_store, later)

    done = repair(folded, report, view_store)
    assert (done.written, done.deleted, done.newer, done.failed) == (0, 0, 2, [])
    rows = view_store.get_rows([tampered, stray])
    assert rows[tampered]["text"] == "mine"
    assert rows[stray]["text"] == "sent after the read" and rows[stray]["author"] == "bob"


def test_real_drift_is_named_with_its_fields_and_repaired_during_traffic(
    live: ChatService, event_store: DynamoEventStore, view_store: DynamoViewStore, stage: Stage
) -> None:
    room, dynamodb, table = general(view_store), client("dynamodb"), stage.tables["views"]
    members = member_key(room, "alice")
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": members[0]}, "sk": {"S": members[1]}})
    first = message_key(room, 2)
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": first[0]}, "sk": {"S": first[1]}},
        UpdateExpression="SET #t = :t, #x = :x",
        ExpressionAttributeNames={"#t": "text", "#x": "stray"},
        ExpressionAttributeValues={":t": {"S": "tampered"}, ":x": {"N": "1"}},
    )
    bobs = inbox_key("bob", room)  # its read marker part tampered; its room part moves on below
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": bobs[0]}, "sk": {"S": bobs[1]}},
        UpdateExpression="SET read_n = :n",
        ExpressionAttributeValues={":n": {"N": "99"}},
    )
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "room#ghost"}, "sk": {"S": "meta"}})
    folded = read_log(event_store)
    later = [live.send("bob", room, "after the read"), live.send("alice", room, "me too")]
    project(view_store, later)

    status, out = check(folded, view_store)
    assert status == 1
    assert "1 missing, 1 extra, 2 different" in out
    assert f"missing {members[0]} {members[1]}: active, joined_seq, room_id, src, user_id" in out
    assert (
        f"different {first[0]} {first[1]}: stray (live 1, log absent), "
        "text (live 'tampered', log 'first, edited')"
    ) in out
    assert f"different {bobs[0]} {bobs[1]}: read_n (live 99, log 2)" in out
    assert "extra room#ghost meta: no fields" in out

    status, out = check(folded, view_store, in_place=True)
    assert status == 0 and "repaired: 3 rows written, 1 deleted" in out
    rows = view_store.get_rows([members, first, bobs, room_key(room), ("room#ghost", "meta")])
    assert rows[members]["active"] is True
    assert rows[first]["text"] == "first, edited" and "stray" not in rows[first]
    assert rows[bobs]["read_n"] == 2 and rows[bobs]["sent_n"] == 3  # bob's message after the read
    assert rows[room_key(room)]["last_seq"] == later[-1].seq
    assert ("room#ghost", "meta") not in rows
    assert check(read_log(event_store), view_store)[0] == 0


def test_after_a_repair_during_traffic_every_message_is_in_the_views_once_quiet(
    live: ChatService, event_store: DynamoEventStore, view_store: DynamoViewStore, stage: Stage
) -> None:
    """Two people chatting (each command projected as soon as it is appended, in the room's
    order) while the log is read and the views repaired in place; then quiet."""
    room, dynamodb, table = general(view_store), client("dynamodb"), stage.tables["views"]
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "room#ghost"}, "sk": {"S": "meta"}})
    first = message_key(room, 2)
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": first[0]}, "sk": {"S": first[1]}})
    chat = ChatService(event_store)
    in_order = threading.Lock()  # the projector applies a room's events in version order
    acked: list[int] = []
    stop = threading.Event()

    def person(user: str) -> None:
        count = 0
        while not stop.is_set():
            with in_order:
                sent = chat.send(user, room, f"{user} {count}")
                project(view_store, [sent])
            acked.append(sent.seq)
            marked = chat.mark_read(user, room, sent.seq)
            project(view_store, [marked])
            count += 1

    people = [threading.Thread(target=person, args=(user,)) for user in ("alice", "bob")]
    for thread in people:
        thread.start()
    try:
        wait_for(lambda: len(acked) >= 4)
        folded = read_log(event_store)
        read = len(acked)
        wait_for(lambda: len(acked) >= read + 6)  # messages the read cannot have seen
        status, out = check(folded, view_store, in_place=True)
        wait_for(lambda: len(acked) >= read + 12)
    finally:
        stop.set()
        for thread in people:
            thread.join()

    assert status == 0, out
    assert "1 missing, 1 extra" in out and "rows newer than the log read" in out, out
    quiet = read_log(event_store)
    status, out = check(quiet, view_store)
    assert status == 0 and "0 missing, 0 extra, 0 different" in out, out
    assert all_rows(view_store) == sorted(quiet.items(), key=lambda r: (r["pk"], r["sk"]))
    rows = view_store.get_rows([message_key(room, seq) for seq in acked])
    assert len(rows) == len(acked) == len(set(acked))


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)

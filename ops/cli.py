"""`chat` — analyst and operator commands against a stage's tables.

    chat replay --prefix chat-dev --dry-run            report drift between live views and the log
    chat replay --prefix chat-dev --in-place           rewrite only the rows that drifted
    chat replay --prefix chat-dev --into chat-dev-v2   rebuild into a fresh table
    chat replay ... --until 2026-11-01T00:00:00.000Z   fold only events at or before a time
    chat export --prefix chat-dev --out log.jsonl      the log as JSON lines, in stream order
    chat plan --stack dev                              the Pulumi stack under mocks: tree, findings

Table names come from `--prefix` (as deployed: "<prefix>-events") or `--events-table` and
`--views-table`; AWS credentials and endpoint from the usual AWS variables.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from adapters.aws import client
from adapters.event_codec import from_event_item
from adapters.event_store import DynamoEventStore
from adapters.tables import create_table
from adapters.view_store import DynamoViewStore
from components.topology import EVENTS, VIEWS, physical_name
from domain.events import encode
from ops.replay import Progress, drift, fold_log, normalize_time, rows_to_write


def _tables(args: argparse.Namespace) -> tuple[str, str]:
    events = args.events_table or (args.prefix and physical_name(args.prefix, EVENTS))
    views = args.views_table or (args.prefix and physical_name(args.prefix, VIEWS))
    if not events or not views:
        sys.exit("name the stage with --prefix, or the tables with --events-table/--views-table")
    return events, views


def replay(args: argparse.Namespace) -> int:
    events_table, views_table = _tables(args)
    if args.until:
        try:
            args.until = normalize_time(args.until)
        except ValueError:
            sys.exit(f"--until {args.until!r} is not an ISO-8601 time")
    store = DynamoEventStore(events_table, client("dynamodb"))
    print(
        f"folding {events_table}" + (f" up to {args.until}" if args.until else ""), file=sys.stderr
    )
    progress = Progress("events")
    folded, unreadable = fold_log(store.scan_items(), from_event_item, args.until, progress)
    progress.report()
    print(f"{len(folded.rows):,} view rows from {progress.count:,} events", file=sys.stderr)
    for reason in unreadable[:20]:
        print(f"  unreadable event: {reason}", file=sys.stderr)

    if unreadable and (args.into or args.in_place):
        # Those events may be newer than this code: writing without them would undo their rows.
        print(f"{len(unreadable)} events could not be read: nothing written", file=sys.stderr)
        return 1
    if args.into:
        create_table(VIEWS, args.into, client("dynamodb"))
        client("dynamodb").get_waiter("table_exists").wait(TableName=args.into)
        written = DynamoViewStore(args.into).put_rows(folded.items())
        print(f"wrote {written:,} rows into {args.into}")
        return 0

    live = DynamoViewStore(views_table)
    report = drift(folded, live.scan_rows())
    print(
        f"drift in {views_table}: {len(report.missing)} missing, {len(report.extra)} extra, "
        f"{len(report.different)} different"
    )
    for key in (report.missing + report.extra + report.different)[:20]:
        print(f"  {key[0]} {key[1]}")
    if args.in_place and report.total:
        written = live.put_rows(rows_to_write(folded, report))
        deleted = live.delete_rows(report.extra)
        print(f"repaired: {written:,} rows written, {deleted:,} deleted")
        return 0
    return 1 if report.total or unreadable else 0


def export(args: argparse.Namespace) -> int:
    events_table, _ = _tables(args)
    store = DynamoEventStore(events_table, client("dynamodb"))
    envelopes = sorted(store.scan(), key=lambda e: (e.stream, e.version))
    with open(args.out, "wb") as out:
        for envelope in envelopes:
            out.write(encode(envelope) + b"\n")
    print(f"exported {len(envelopes):,} events to {args.out}")
    return 0


def plan(args: argparse.Namespace) -> int:
    from ops import plan as planner  # noqa: PLC0415  (pulumi loads only for this command)

    overrides = {}
    for pair in args.set or []:
        key, sep, value = pair.partition("=")
        if not sep:
            sys.exit(f"--set {pair!r}: write KEY=VALUE")
        overrides[key if ":" in key else f"chat:{key}"] = value
    return planner.main(args.stack, overrides)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="chat", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)
    for name, helptext in (("replay", "rebuild views from the log"), ("export", "export the log")):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("--prefix", help="stage prefix, e.g. chat-dev")
        sub.add_argument("--events-table")
        sub.add_argument("--views-table")
        if name == "replay":
            mode = sub.add_mutually_exclusive_group()
            mode.add_argument("--dry-run", action="store_true", help="report drift (default)")
            mode.add_argument("--in-place", action="store_true", help="repair drifted rows")
            mode.add_argument("--into", metavar="TABLE", help="rebuild into a fresh table")
            sub.add_argument("--until", metavar="ISO-TIME", help="only events at or before")
        else:
            sub.add_argument("--out", required=True, help="JSON lines file to write")
    sub = commands.add_parser("plan", help="the Pulumi stack under mocks: resources and findings")
    sub.add_argument("--stack", required=True, help="a stack with a Pulumi.<stack>.yaml")
    sub.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    if args.command == "replay" and args.in_place and args.until:
        # The projector never re-applies what it already did: rolling live views back is final.
        cli.error("--in-place rebuilds the live views; combine --until with --into or --dry-run")
    commands = {"replay": replay, "export": export, "plan": plan}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

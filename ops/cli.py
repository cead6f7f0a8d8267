"""`chat` — analyst and operator commands against a stage's tables.

    chat replay --prefix chat-dev --dry-run            report drift between live views and the log
    chat replay --prefix chat-dev --in-place           rewrite only the rows that drifted
    chat replay --prefix chat-dev --into chat-dev-v2   rebuild into a fresh table
    chat replay ... --until 2026-11-01T00:00:00.000Z   fold only events at or before a time
    chat export --prefix chat-dev --out log.jsonl      the log as JSON lines, in stream order
    chat replay --local --dry-run                      the same against a running `make dev`
    chat export --local > log.jsonl
    chat plan --stack dev                              the Pulumi stack under mocks: tree, findings

Table names come from `--prefix` (as deployed: "<prefix>-events") or `--events-table` and
`--views-table`; AWS credentials and endpoint from the usual AWS variables. `--local` takes all of
it from the local stage running on `--state` (default .local), which records its endpoints there.

Exit status: 0 done, 1 drift or unreadable events, 2 could not run (no stage, no credentials, no
region, an endpoint that does not answer, an AWS error), said in one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from adapters.aws import client
from adapters.event_codec import from_event_item
from adapters.event_store import DynamoEventStore
from adapters.tables import create_table
from adapters.view_store import DynamoViewStore
from components.topology import EVENTS, VIEWS, physical_name
from domain.events import Envelope, encode
from ops.replay import SETTLE_SECONDS, Progress, check_views, fold_log, normalize_time

LOCAL_STATE = Path(".local")  # `make dev`'s default state folder (local/stage.py)


class CannotRun(Exception):
    """Why the command could not run, in one line for stderr (exit status 2)."""


def _tables(args: argparse.Namespace) -> tuple[str, str]:
    """Explicit names first (--events-table, --views-table, then --prefix), else the local
    stage's (--local)."""
    local: dict[str, str] = args.local_tables if getattr(args, "local_tables", None) else {}
    events = (
        args.events_table
        or (args.prefix and physical_name(args.prefix, EVENTS))
        or local.get(EVENTS.name)
    )
    views = (
        args.views_table
        or (args.prefix and physical_name(args.prefix, VIEWS))
        or local.get(VIEWS.name)
    )
    if not events or not views:
        raise CannotRun(
            "name the stage with --prefix, or the tables with --events-table/--views-table, "
            "or use --local with `make dev` running"
        )
    return events, views


@contextmanager
def _aws_environment(args: argparse.Namespace) -> Iterator[None]:
    """With --local: for this run, the AWS variables are exactly those of the local stage running
    on the state folder (its endpoints, region and stage's credentials), and its tables are the
    default ones. Without: the usual AWS variables, untouched."""
    args.local_tables = None
    if not (getattr(args, "local", False) or getattr(args, "state", None)):
        yield
        return
    from local import endpoints  # noqa: PLC0415  (local/ is the checkout's, not in the wheel)

    try:
        stage = endpoints.find(args.state or LOCAL_STATE)
    except endpoints.NoLocalStage as refused:
        raise CannotRun(str(refused)) from None
    args.local_tables = stage.tables
    # A profile, a session token or another endpoint must not leak in. Only what differs is
    # touched (a process that runs the stage itself, as a test does, sees no change at all).
    aws = {name: value for name, value in os.environ.items() if name.startswith("AWS_")}
    changed = {
        name: aws.get(name) for name in {*aws, *stage.aws} if aws.get(name) != stage.aws.get(name)
    }
    for name in changed:
        if name in stage.aws:
            os.environ[name] = stage.aws[name]
        else:
            del os.environ[name]
    try:
        yield
    finally:
        for name, value in changed.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _explain(error: Exception, local: bool) -> str:
    """One line for an error of AWS's client or service, with what to do where it is obvious."""
    elsewhere = "; or --local against a running `make dev`" if not local else ""
    if isinstance(error, NoCredentialsError):
        return (
            "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            f"AWS_SECRET_ACCESS_KEY{elsewhere}"
        )
    if isinstance(error, NoRegionError):
        return f"no AWS region: set AWS_DEFAULT_REGION, or a region in your AWS profile{elsewhere}"
    if isinstance(error, EndpointConnectionError):
        where = error.kwargs.get("endpoint_url", "the endpoint")
        hint = ": has the local stage stopped?" if local else ": check AWS_ENDPOINT_URL and network"
        return f"cannot reach {where}{hint}"
    return " ".join(str(error).split())


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

    # Safe on a live stage: rows the projector wrote after the read are neither drift nor touched.
    status = check_views(
        folded, DynamoViewStore(views_table), in_place=args.in_place, settle=args.settle
    )
    return status or (1 if unreadable else 0)


def export(args: argparse.Namespace) -> int:
    events_table, _ = _tables(args)
    store = DynamoEventStore(events_table, client("dynamodb"))
    envelopes = sorted(store.scan(), key=lambda e: (e.stream, e.version))
    if args.out == "-":  # the log on stdout, what is said about it on stderr
        sys.stdout.flush()
        _write_lines(sys.stdout.buffer, envelopes)
        sys.stdout.flush()
        print(f"exported {len(envelopes):,} events from {events_table}", file=sys.stderr)
        return 0
    with open(args.out, "wb") as out:
        _write_lines(out, envelopes)
    print(f"exported {len(envelopes):,} events to {args.out}")
    return 0


def _write_lines(out: BinaryIO, envelopes: Sequence[Envelope]) -> None:
    for envelope in envelopes:
        out.write(encode(envelope) + b"\n")
    out.flush()


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
        sub.add_argument(
            "--local",
            action="store_true",
            help="the running local stage (`make dev`): its endpoints, credentials and tables",
        )
        sub.add_argument(
            "--state",
            type=Path,
            metavar="DIR",
            help=f"the local stage's state folder (implies --local; default {LOCAL_STATE})",
        )
        if name == "replay":
            mode = sub.add_mutually_exclusive_group()
            mode.add_argument("--dry-run", action="store_true", help="report drift (default)")
            mode.add_argument("--in-place", action="store_true", help="repair drifted rows")
            mode.add_argument("--into", metavar="TABLE", help="rebuild into a fresh table")
            sub.add_argument("--until", metavar="ISO-TIME", help="only events at or before")
            sub.add_argument(
                "--settle",
                type=float,
                default=SETTLE_SECONDS,
                metavar="SECONDS",
                help="how long to wait for the projector on rows only behind the read "
                f"(default {SETTLE_SECONDS:g})",
            )
        else:
            sub.add_argument(
                "--out", default="-", help="JSON lines file to write (default: stdout)"
            )
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
    local = bool(getattr(args, "local", False) or getattr(args, "state", None))
    try:
        with _aws_environment(args):
            return commands[args.command](args)
    except CannotRun as refused:
        print(f"chat: {refused}", file=sys.stderr)
    except (BotoCoreError, ClientError) as error:
        print(f"chat: {_explain(error, local)}", file=sys.stderr)
    except BrokenPipeError:  # `chat export ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())

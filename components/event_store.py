"""The event log: the one table that is the truth, so PITR and its stream are not optional."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.tables import dynamo_table
from components.topology import Table


@dataclass
class EventStoreArgs:
    table: Table
    prefix: str
    deletion_protection: bool


class EventStore(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EventStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:EventStore", name, None, opts)
        if args.table.stream != "NEW_IMAGE":
            raise ValueError(f"the event log {args.table.name} must stream NEW_IMAGE records")
        self.table = dynamo_table(
            args.table,
            args.prefix,
            point_in_time_recovery=True,
            deletion_protection=args.deletion_protection,
            parent=self,
        )
        self.stream_arn = self.table.stream_arn
        self.register_outputs({"table": self.table.name, "stream_arn": self.stream_arn})

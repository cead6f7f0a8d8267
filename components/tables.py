"""DynamoDB tables from the topology: on-demand, encrypted, with its keys, stream and TTL."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.topology import Table, physical_name


def dynamo_table(
    table: Table,
    prefix: str,
    *,
    point_in_time_recovery: bool,
    deletion_protection: bool,
    parent: pulumi.Resource,
) -> aws.dynamodb.Table:
    keys = (table.hash_key, table.range_key)
    return aws.dynamodb.Table(
        table.name,
        name=physical_name(prefix, table),
        billing_mode="PAY_PER_REQUEST",
        hash_key=table.hash_key.name,
        range_key=table.range_key.name,
        attributes=[{"name": key.name, "type": key.type} for key in keys],
        stream_enabled=table.stream is not None,
        stream_view_type=table.stream,
        ttl={"attribute_name": table.ttl_attribute, "enabled": True}
        if table.ttl_attribute
        else None,
        point_in_time_recovery={"enabled": point_in_time_recovery},
        # The AWS managed key (aws/dynamodb) rather than the owned default: its use shows in
        # CloudTrail, and the plan can tell an encrypted table from one left to defaults.
        server_side_encryption={"enabled": True},
        deletion_protection_enabled=deletion_protection,
        tags={"chat:purpose": table.purpose[:250], **table.tags},
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass
class TablesArgs:
    tables: tuple[Table, ...]  # the rebuildable ones: views, connections, ...
    prefix: str
    point_in_time_recovery: bool
    deletion_protection: bool


class Tables(pulumi.ComponentResource):
    """The projections and the connections table; any table the topology adds appears here."""

    def __init__(
        self, name: str, args: TablesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:Tables", name, None, opts)
        self.tables = {
            table.name: dynamo_table(
                table,
                args.prefix,
                # Rebuildable from the log, so PITR is a stage choice; a table may opt out.
                point_in_time_recovery=args.point_in_time_recovery and table.point_in_time_recovery,
                deletion_protection=args.deletion_protection,
                parent=self,
            )
            for table in args.tables
        }
        self.register_outputs({name: table.name for name, table in self.tables.items()})

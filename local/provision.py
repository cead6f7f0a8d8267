"""Creates the topology's resources in the local cloud (moto), as the Pulumi program does on AWS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.aws import client
from components.topology import TABLES, Table, physical_name


@dataclass(frozen=True)
class Stage:
    """Names of one provisioned stage; `env()` is what the functions receive."""

    prefix: str
    tables: dict[str, str]
    bus: str
    events_stream_arn: str

    def env(self) -> dict[str, str]:
        names = {table.env_var: self.tables[table.name] for table in TABLES if table.env_var}
        return {**names, "EVENT_BUS_NAME": self.bus}


def create_table(table: Table, name: str, dynamodb: Any) -> dict[str, Any]:
    keys = (table.hash_key, table.range_key)
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": k.name, "AttributeType": k.type} for k in keys],
        "KeySchema": [
            {"AttributeName": table.hash_key.name, "KeyType": "HASH"},
            {"AttributeName": table.range_key.name, "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"Enabled": True},
    }
    if table.stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
    description = dynamodb.create_table(**request)["TableDescription"]
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )
    return description  # type: ignore[no-any-return]


def provision(prefix: str) -> Stage:
    dynamodb = client("dynamodb")
    names: dict[str, str] = {}
    stream_arn = ""
    for table in TABLES:
        name = physical_name(prefix, table)
        description = create_table(table, name, dynamodb)
        names[table.name] = name
        if table.stream:
            stream_arn = description["LatestStreamArn"]
    bus = f"{prefix}-bus"
    client("events").create_event_bus(Name=bus)
    return Stage(prefix, names, bus, stream_arn)

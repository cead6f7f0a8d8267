"""Creates a DynamoDB table from its topology description (local stage and replay targets)."""

from __future__ import annotations

from typing import Any

from components.topology import Table


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
    if table.point_in_time_recovery:
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )
    return description  # type: ignore[no-any-return]

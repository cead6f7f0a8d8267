"""Reads a DynamoDB Stream through the Streams API and shapes the batches Lambda would deliver.

moto records the stream; this reader does what the Lambda event source mapping does on AWS:
follows every shard from where it left off and wraps the records as `{"Records": [...]}`, each
with the mapping's `eventSourceARN`.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from adapters.aws import client

SHARD_REFRESH_S = 5.0


class StreamReader:
    def __init__(self, stream_arn: str, streams: Any = None, from_now: bool = False) -> None:
        self.stream_arn = stream_arn
        self.streams = streams or client("dynamodbstreams")
        self.iterators: dict[str, str | None] = {}
        # LATEST: skip what is already in the stream (a restored log is replayed, not re-projected)
        self.start = "LATEST" if from_now else "TRIM_HORIZON"
        self.first_sequence: dict[str, int] = {}  # shard id -> its first sequence number
        self.shards_seen_at = float("-inf")
        if from_now:  # "now" is when the reader is made, not when it first polls
            for shard in self._shards():
                self._iterator(shard)

    def _shards(self) -> list[str]:
        # Shards come and go rarely; Lambda too looks for new ones now and then, not every poll.
        if time.monotonic() - self.shards_seen_at > SHARD_REFRESH_S:
            description = self.streams.describe_stream(StreamArn=self.stream_arn)
            self.first_sequence = {
                shard["ShardId"]: int(shard["SequenceNumberRange"]["StartingSequenceNumber"])
                for shard in description["StreamDescription"]["Shards"]
            }
            self.shards_seen_at = time.monotonic()
        return list(self.first_sequence)

    def shard_of(self, sequence_number: str) -> str:
        """The shard a record was read from: the last to start at or before its number."""
        started = [
            (first, shard)
            for shard, first in self.first_sequence.items()
            if first <= int(sequence_number)
        ]
        return max(started)[1] if started else ""

    def poll(self, limit: int = 100) -> list[dict[str, Any]]:
        """The records written since the last poll, in shard order, as GetRecords returned them."""
        records: list[dict[str, Any]] = []
        for shard in self._shards():
            iterator = self._iterator(shard)
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=limit)
                iterator = page.get("NextShardIterator")
                records.extend(map(as_lambda_record, page["Records"]))
                if len(page["Records"]) < limit:  # all there was; what comes next, the next poll
                    break
            self.iterators[shard] = iterator
        return records

    def _iterator(self, shard: str) -> str | None:
        if shard not in self.iterators:
            self.iterators[shard] = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard, ShardIteratorType=self.start
            )["ShardIterator"]
        return self.iterators[shard]

    def lambda_event(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": [{**record, "eventSourceARN": self.stream_arn} for record in records]}


def as_lambda_record(record: dict[str, Any]) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it: JSON, the creation time in epoch seconds."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    return {**record, "dynamodb": change}

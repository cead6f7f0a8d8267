"""Reads a DynamoDB Stream through the Streams API and shapes the batches Lambda would deliver.

moto records the stream; this reader does what the Lambda event source mapping does on AWS:
follows every shard from where it left off and wraps the records as `{"Records": [...]}`, each
with the mapping's `eventSourceARN`.
"""

from __future__ import annotations

from typing import Any

from adapters.aws import client


class StreamReader:
    def __init__(self, stream_arn: str, streams: Any = None, from_now: bool = False) -> None:
        self.stream_arn = stream_arn
        self.streams = streams or client("dynamodbstreams")
        self.iterators: dict[str, str | None] = {}
        # LATEST: skip what is already in the stream (a restored log is replayed, not re-projected)
        self.start = "LATEST" if from_now else "TRIM_HORIZON"

    def _shards(self) -> list[str]:
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        return [shard["ShardId"] for shard in description["Shards"]]

    def poll(self, limit: int = 100) -> list[dict[str, Any]]:
        """The records written since the last poll, in shard order, as GetRecords returned them."""
        records: list[dict[str, Any]] = []
        for shard in self._shards():
            if shard not in self.iterators:
                self.iterators[shard] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard, ShardIteratorType=self.start
                )["ShardIterator"]
            iterator = self.iterators[shard]
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=limit)
                iterator = page.get("NextShardIterator")
                records.extend(page["Records"])
                if not page["Records"]:
                    break
            self.iterators[shard] = iterator
        return records

    def lambda_event(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": [{**record, "eventSourceARN": self.stream_arn} for record in records]}

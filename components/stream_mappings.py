"""Event source mappings from the topology. DynamoDB Stream -> function: batching and Lambda's
failure handling (per-record failures, bisect on error, bounded retries and record age, an
on-failure queue). SQS queue -> function: batches with per-message failures (the queue's redrive
policy takes over past its receive count)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.topology import QueueMapping, StreamMapping


@dataclass
class StreamMappingsArgs:
    mappings: tuple[StreamMapping, ...]
    queue_mappings: tuple[QueueMapping, ...]
    streams: Mapping[str, pulumi.Input[str]]  # table -> stream ARN
    functions: Mapping[str, aws.lambda_.Function]
    queues: Mapping[str, aws.sqs.Queue]
    # A mapping is checked against the role when it is created: the policy must exist first.
    role_policies: Mapping[str, aws.iam.RolePolicy]


class StreamMappings(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: StreamMappingsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:StreamMappings", name, None, opts)
        self.mappings = {
            f"{m.table}-{m.function}": aws.lambda_.EventSourceMapping(
                f"{m.table}-{m.function}",
                event_source_arn=args.streams[m.table],
                function_name=args.functions[m.function].arn,
                # A new stage reads its log from the start: nothing appended is ever skipped.
                starting_position="TRIM_HORIZON",
                batch_size=m.batch_size,
                maximum_batching_window_in_seconds=m.batching_window_s,
                function_response_types=["ReportBatchItemFailures"]
                if m.report_batch_item_failures
                else [],
                bisect_batch_on_function_error=m.bisect_on_error,
                maximum_retry_attempts=m.max_retries,
                maximum_record_age_in_seconds=m.max_record_age_s,
                # One batch per shard at a time: above 1, Lambda keeps order per item (pk + sk)
                # only, and each event is an item, so a room's events could be projected out of
                # order. The projector instead projects a batch's rooms side by side.
                parallelization_factor=1,
                destination_config={
                    "on_failure": {"destination_arn": args.queues[m.on_failure_queue].arn}
                },
                filter_criteria={"filters": [{"pattern": m.filter_pattern}]},
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[args.role_policies[m.function]]
                ),
            )
            for m in args.mappings
        }
        self.mappings |= {
            f"{m.queue}-{m.function}": aws.lambda_.EventSourceMapping(
                f"{m.queue}-{m.function}",
                event_source_arn=args.queues[m.queue].arn,
                function_name=args.functions[m.function].arn,
                batch_size=m.batch_size,
                function_response_types=["ReportBatchItemFailures"],
                scaling_config={"maximum_concurrency": m.max_concurrency},
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[args.role_policies[m.function]]
                ),
            )
            for m in args.queue_mappings
        }
        self.register_outputs({key: value.uuid for key, value in self.mappings.items()})

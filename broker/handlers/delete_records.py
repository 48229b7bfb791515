"""DeleteRecords (21), versions 0-2.

- Moves each partition's log start offset up to the requested offset; -1 means the high watermark.
  The answer's low_watermark is the new log start offset (with one replica, the partition's low
  watermark). Segments wholly below it are deleted by the next retention pass.
- Errors per partition (low_watermark -1): OFFSET_OUT_OF_RANGE for an offset above the high
  watermark or below -1; POLICY_VIOLATION on a topic whose cleanup.policy lacks ``delete``;
  UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR.
- Nothing waits: Kafka's DeleteRecords purgatory waits for followers' log start offsets, and a
  single broker has no followers (``timeout_ms`` is accepted and unused).

Version notes: v1 same as v0; v2 flexible.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._partitions import DATA_PATH_ERRORS, error_code, leader_partition
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.delete_records import (
    DELETE_RECORDS,
    DeleteRecordsPartitionResult,
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    DeleteRecordsTopicResult,
)


@handles(DELETE_RECORDS, versions="0-2")
async def handle_delete_records(ctx: RequestContext, request: DeleteRecordsRequest) -> DeleteRecordsResponse:
    response = DeleteRecordsResponse()
    for topic in request.topics:
        result = DeleteRecordsTopicResult(name=topic.name)
        response.topics.append(result)
        denied = not _authz.allowed(ctx, RT.TOPIC, topic.name)
        for wanted in topic.partitions:
            answer = DeleteRecordsPartitionResult(partition_index=wanted.partition_index, low_watermark=-1)
            result.partitions.append(answer)
            if denied:
                answer.error_code = ErrorCode.TOPIC_AUTHORIZATION_FAILED
                continue
            try:
                partition = leader_partition(ctx.components, topic.name, wanted.partition_index)
                answer.low_watermark = partition.delete_records_on_leader(wanted.offset)
            except DATA_PATH_ERRORS as exc:
                answer.error_code = error_code(exc)
    return response

"""OffsetForLeaderEpoch (23), versions 0-4.

- For each partition: the largest epoch <= the requested one that the log knows, and its end offset
  (the start offset of the next epoch, or the log end offset for the latest epoch), from the log's
  leader epoch cache. An epoch older than all known ones answers itself with the first known start
  offset; an unknown (newer) epoch answers epoch -1, offset -1, error NONE, as Kafka does.
- v2+: the current leader epoch is checked (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH).
- Errors per partition: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR.
- Consumers (replica id -1, v3+) and followers get the same answer: this broker leads every
  partition it hosts.

Version notes: v1 leader epoch in the answer; v2 current leader epoch and throttle time; v3 replica
id; v4 flexible.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._partitions import DATA_PATH_ERRORS, error_code, leader_partition
from protocol.errors import ErrorCode
from protocol.messages.offset_for_leader_epoch import (
    OFFSET_FOR_LEADER_EPOCH,
    EpochEndOffset,
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
    OffsetForLeaderTopicResult,
)


@handles(OFFSET_FOR_LEADER_EPOCH, versions="0-4")
async def handle_offset_for_leader_epoch(
    ctx: RequestContext, request: OffsetForLeaderEpochRequest
) -> OffsetForLeaderEpochResponse:
    response = OffsetForLeaderEpochResponse()
    for topic in request.topics:
        result = OffsetForLeaderTopicResult(topic=topic.topic)
        response.topics.append(result)
        denied = not _authz.replica_or_topic_allowed(ctx, request.replica_id if ctx.version >= 3 else -1, topic.topic)
        for wanted in topic.partitions:
            answer = EpochEndOffset(partition=wanted.partition)
            result.partitions.append(answer)
            if denied:
                answer.error_code = ErrorCode.TOPIC_AUTHORIZATION_FAILED
                continue
            try:
                partition = leader_partition(ctx.components, topic.topic, wanted.partition)
                partition.check_leader_epoch(wanted.current_leader_epoch)
                answer.leader_epoch, answer.end_offset = partition.end_offset_for_epoch(wanted.leader_epoch)
            except DATA_PATH_ERRORS as exc:
                answer.error_code = error_code(exc)
    return response

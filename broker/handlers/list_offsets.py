"""ListOffsets (2), versions 0-10.

- Special timestamps: EARLIEST (-2) the log start offset; LATEST (-1) the last fetchable offset
  (HW for read_uncommitted, LSO for read_committed, the log end for replica ids other than -1, as
  Kafka's "debug" and follower reads); MAX_TIMESTAMP (-3, v7+) the first record with the largest
  timestamp; EARLIEST_LOCAL (-4, v8+) the log start offset too (no tiered storage: all data is
  local); LATEST_TIERED (-5, v9+) offset -1 (nothing is tiered).
- Other timestamps: the first offset whose record timestamp is >= the target (time index, then the
  batch), below the last fetchable offset; none: offset -1, timestamp -1, error NONE.
- leader_epoch (v4+): the epoch of the answered offset (the leader epoch for LATEST); current
  leader epoch checks give FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH.
- Errors per partition: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR;
  a partition named twice in one request (v1+): INVALID_REQUEST for each copy.
- v0 answers old_style_offsets: for LATEST the last fetchable offset followed by segment base
  offsets (newest first), for EARLIEST the log start offset, for a time the base offsets of the
  segments whose newest timestamp is before it; at most ``max_num_offsets`` of them.

Version notes: v1 single offset and timestamp; v2 isolation level; v4 leader epochs; v6 flexible;
v7 MAX_TIMESTAMP; v8 EARLIEST_LOCAL; v9 LATEST_TIERED; v10 timeout_ms (nothing waits here).
"""

from __future__ import annotations

from collections import Counter

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._partitions import DATA_PATH_ERRORS, error_code, leader_partition
from broker.partition import Partition
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.list_offsets import (
    LIST_OFFSETS,
    ListOffsetsPartition,
    ListOffsetsPartitionResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopicResponse,
)

LATEST = -1
EARLIEST = -2
MAX_TIMESTAMP = -3
EARLIEST_LOCAL = -4
LATEST_TIERED = -5
CONSUMER_REPLICA_ID = -1


@handles(LIST_OFFSETS, versions="0-10")
async def handle_list_offsets(ctx: RequestContext, request: ListOffsetsRequest) -> ListOffsetsResponse:
    isolation = request.isolation_level if request.replica_id == CONSUMER_REPLICA_ID else None
    counts = Counter((t.name, p.partition_index) for t in request.topics for p in t.partitions)
    response = ListOffsetsResponse()
    for topic in request.topics:
        answers = ListOffsetsTopicResponse(name=topic.name)
        response.topics.append(answers)
        denied = not _authz.allowed(ctx, RT.TOPIC, topic.name)
        for wanted in topic.partitions:
            answer = ListOffsetsPartitionResponse(partition_index=wanted.partition_index)
            answers.partitions.append(answer)
            if ctx.version >= 1 and counts[(topic.name, wanted.partition_index)] > 1:
                answer.error_code = ErrorCode.INVALID_REQUEST
                continue
            if denied:
                answer.error_code = ErrorCode.TOPIC_AUTHORIZATION_FAILED
                continue
            try:
                partition = leader_partition(ctx.components, topic.name, wanted.partition_index)
                partition.check_leader_epoch(wanted.current_leader_epoch)
                if ctx.version == 0:
                    answer.old_style_offsets = _old_style(partition, wanted)
                else:
                    answer.offset, answer.timestamp, answer.leader_epoch = _lookup(
                        partition, wanted.timestamp, isolation
                    )
            except DATA_PATH_ERRORS as exc:
                answer.error_code = error_code(exc)
    return response


def _lookup(partition: Partition, timestamp: int, isolation: int | None) -> tuple[int, int, int]:
    """(offset, timestamp, leader epoch) answering ``timestamp``; (-1, -1, -1) when there is none."""
    fetchable = partition.last_fetchable_offset(isolation)
    if timestamp == LATEST:
        return fetchable, -1, partition.leader_epoch
    if timestamp in (EARLIEST, EARLIEST_LOCAL):
        start = partition.log_start_offset
        return start, -1, partition.epoch_for_offset(start)
    if timestamp == LATEST_TIERED:
        return -1, -1, -1
    found = (
        partition.offset_of_max_timestamp() if timestamp == MAX_TIMESTAMP else partition.offset_for_timestamp(timestamp)
    )
    if found is None or found[0] >= fetchable:
        return -1, -1, -1
    offset, record_timestamp = found
    return offset, record_timestamp, partition.epoch_for_offset(offset)


def _old_style(partition: Partition, wanted: ListOffsetsPartition) -> list[int]:
    if wanted.timestamp == EARLIEST:
        offsets = [partition.log_start_offset]
    else:
        offsets = partition.legacy_offsets_before(wanted.timestamp, latest=wanted.timestamp == LATEST)
    return offsets[: max(wanted.max_num_offsets, 0)]

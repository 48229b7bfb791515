"""OffsetCommit (8), versions 0-9.

- v0: no generation or member: a "simple" commit. v1+: generation and member id; a group member's
  commit is checked (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS while the group
  completes a rebalance, FENCED_INSTANCE_ID v7+). Generation -1 with an empty member id into a group
  with no members is a simple commit (standalone consumers), allowed as in Kafka.
- Commit timestamp: the broker's clock, except v1's per-partition timestamp when given. v2-4: a
  retention time other than -1 sets the offset's own expiry (commit time + retention, at most the
  largest int64: a huge retention never expires instead of overflowing); v5+ has none.
- v6+: the leader epoch is stored with the offset. v8+ flexible. The generation field carries a
  KIP-848 member's epoch for consumer groups (any version; v9 is the one clients send): an unknown
  member gets UNKNOWN_MEMBER_ID, another epoch than the member's STALE_MEMBER_EPOCH; epoch -1 is
  allowed into a consumer group with no members only. Classic groups treat it as a generation.
- COORDINATOR_NOT_AVAILABLE for every partition while ``__consumer_offsets`` is being created (see
  ``_groups``); a commit that finds no such topic creates it first, waiting for it.
- The answer goes out once the commit's records are committed in ``__consumer_offsets``.
  NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS for every partition when this broker does not own,
  or is loading, the group's partition.
- Per partition: UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist,
  OFFSET_METADATA_TOO_LARGE over offset.metadata.max.bytes, INVALID_COMMIT_OFFSET_SIZE when the batch
  is over the offsets topic's max.message.bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from broker.coordinator.group.group import OffsetAndMetadata
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import Completion, coordinator, offsets_to_commit, offsets_topic_ready
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.offset_commit import (
    OFFSET_COMMIT,
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitResponse,
    OffsetCommitResponsePartition,
    OffsetCommitResponseTopic,
)

MAX_TIMESTAMP = 2**63 - 1


@handles(OFFSET_COMMIT, versions="0-9")
async def handle_offset_commit(ctx: RequestContext, request: OffsetCommitRequest) -> OffsetCommitResponse:
    if not _authz.allowed(ctx, RT.GROUP, request.group_id):
        return _answer(request, lambda tp: ErrorCode.GROUP_AUTHORIZATION_FAILED)
    if not await offsets_topic_ready(ctx):
        return _answer(request, lambda tp: ErrorCode.COORDINATOR_NOT_AVAILABLE)
    now = int(time.time() * 1000)
    retention = request.retention_time_ms if 2 <= ctx.version <= 4 else -1

    def offset(p: OffsetCommitRequestPartition) -> OffsetAndMetadata:
        committed_at = p.commit_timestamp if ctx.version == 1 and p.commit_timestamp >= 0 else now
        return OffsetAndMetadata(
            offset=p.committed_offset,
            leader_epoch=p.committed_leader_epoch if ctx.version >= 6 else -1,
            metadata=p.committed_metadata or "",
            commit_timestamp=committed_at,
            expire_timestamp=min(committed_at + retention, MAX_TIMESTAMP) if retention >= 0 else -1,
        )

    errors, offsets = offsets_to_commit(ctx, request.topics, offset)
    if offsets:
        done: Completion[dict[tuple[str, int], ErrorCode]] = Completion()
        coordinator(ctx).commit_offsets(
            request.group_id,
            request.member_id,
            request.group_instance_id if ctx.version >= 7 else None,
            request.generation_id_or_member_epoch,
            offsets,
            done.set,
        )
        committed = await done
        errors.update(committed)
    return _answer(request, errors.__getitem__)


def _answer(request: OffsetCommitRequest, error: Callable[[tuple[str, int]], ErrorCode]) -> OffsetCommitResponse:
    return OffsetCommitResponse(
        topics=[
            OffsetCommitResponseTopic(
                name=topic.name,
                partitions=[
                    OffsetCommitResponsePartition(
                        partition_index=p.partition_index, error_code=error((topic.name, p.partition_index))
                    )
                    for p in topic.partitions
                ],
            )
            for topic in request.topics
        ]
    )

"""OffsetFetch (9), versions 0-9.

- v0-7: one group; v8+: many groups, each with its own error. Topics null (v2+; v8+ per group):
  every partition the group has an offset for.
- A partition with no committed offset: offset -1, metadata "", error NONE (as Kafka).
- v2+: a top-level error; v5+: the leader epoch of each offset. v7+: require_stable: a partition
  with offsets pending in an open transaction (TxnOffsetCommit, until its marker) gets
  UNSTABLE_OFFSET_COMMIT and offset -1 (the consumer retries); without it, the committed offset.
- v9: member id and epoch are checked for KIP-848 consumer groups (UNKNOWN_MEMBER_ID,
  STALE_MEMBER_EPOCH as the group's error; no member id with epoch -1 is an admin and always
  allowed); classic groups ignore them, as Kafka's do.
- NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS (v8+: the group's error; v2-7: the top-level error;
  v0-1: each partition's) when this broker does not own, or is loading, the group's partition.
- Unknown or Dead groups have no offsets. An empty group id is allowed (old clients), as in Kafka.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import coordinator
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.offset_fetch import (
    OFFSET_FETCH,
    OffsetFetchRequest,
    OffsetFetchResponse,
    OffsetFetchResponseGroup,
    OffsetFetchResponsePartition,
    OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
)

Wanted = list[tuple[str, list[int]]] | None


@handles(OFFSET_FETCH, versions="0-9")
async def handle_offset_fetch(ctx: RequestContext, request: OffsetFetchRequest) -> OffsetFetchResponse:
    if ctx.version >= 8:
        groups = []
        for group in request.groups:
            member_id, epoch = (group.member_id, group.member_epoch) if ctx.version >= 9 else (None, -1)
            error = coordinator(ctx).check_offset_fetch(group.group_id, member_id, epoch)
            if not _authz.allowed(ctx, RT.GROUP, group.group_id):
                error = ErrorCode.GROUP_AUTHORIZATION_FAILED
            if error is not ErrorCode.NONE:
                groups.append(OffsetFetchResponseGroup(group_id=group.group_id, error_code=error))
                continue
            wanted = None if group.topics is None else [(t.name, t.partition_indexes) for t in group.topics]
            found = _fetch(ctx, group.group_id, wanted, request.require_stable)
            groups.append(
                OffsetFetchResponseGroup(
                    group_id=group.group_id,
                    error_code=ErrorCode.NONE,
                    topics=[
                        OffsetFetchResponseTopics(
                            name=name,
                            partitions=[
                                OffsetFetchResponsePartitions(
                                    partition_index=p,
                                    committed_offset=o,
                                    committed_leader_epoch=e,
                                    metadata=m,
                                    error_code=c,
                                )
                                for p, o, e, m, c in parts
                            ],
                        )
                        for name, parts in found
                    ],
                )
            )
        return OffsetFetchResponse(groups=groups)
    wanted = None if request.topics is None else [(t.name, t.partition_indexes) for t in request.topics]
    error = coordinator(ctx).check_offset_fetch(request.group_id, None, -1)
    if not _authz.allowed(ctx, RT.GROUP, request.group_id):
        error = ErrorCode.GROUP_AUTHORIZATION_FAILED
    if error is not ErrorCode.NONE:
        return _error_response(ctx.version, error, wanted)
    found = _fetch(ctx, request.group_id, wanted, ctx.version >= 7 and request.require_stable)
    return OffsetFetchResponse(
        error_code=ErrorCode.NONE,
        topics=[
            OffsetFetchResponseTopic(
                name=name,
                partitions=[
                    OffsetFetchResponsePartition(
                        partition_index=p, committed_offset=o, committed_leader_epoch=e, metadata=m, error_code=c
                    )
                    for p, o, e, m, c in parts
                ],
            )
            for name, parts in found
        ],
    )


def _error_response(version: int, error: ErrorCode, wanted: Wanted) -> OffsetFetchResponse:
    """v2+: the top-level error alone; v0-1 have none, so each partition asked for carries it."""
    if version >= 2:
        return OffsetFetchResponse(error_code=error)
    return OffsetFetchResponse(
        topics=[
            OffsetFetchResponseTopic(
                name=name,
                partitions=[
                    OffsetFetchResponsePartition(
                        partition_index=p, committed_offset=-1, committed_leader_epoch=-1, metadata="", error_code=error
                    )
                    for p in partitions
                ],
            )
            for name, partitions in wanted or []
        ]
    )


Row = tuple[int, int, int, str, int]


def _fetch(ctx: RequestContext, group_id: str, wanted: Wanted, require_stable: bool) -> list[tuple[str, list[Row]]]:
    """Per topic (in request order, or sorted for "all"), (partition, offset, leader epoch, metadata,
    error code)."""
    partitions = None if wanted is None else [(name, p) for name, ps in wanted for p in ps]
    committed = coordinator(ctx).fetch_offsets(group_id, partitions)
    pending = coordinator(ctx).txn_offsets
    by_topic: dict[str, list[Row]] = {}
    keys = sorted(committed) if wanted is None else partitions or []
    for topic, p in keys:
        om = committed.get((topic, p))
        row: Row = (p, -1, -1, "", 0) if om is None else (p, om.offset, om.leader_epoch, om.metadata, 0)
        if require_stable and pending.has_pending(group_id, (topic, p)):
            row = (p, -1, -1, "", ErrorCode.UNSTABLE_OFFSET_COMMIT)
        by_topic.setdefault(topic, []).append(row)
    if wanted is not None:
        for name, _ in wanted:
            by_topic.setdefault(name, [])
    if _authz.enabled(ctx):  # topics it may not DESCRIBE: left out of "all", else TOPIC_AUTHORIZATION_FAILED
        for name in [n for n in by_topic if not _authz.allowed(ctx, RT.TOPIC, n)]:
            if wanted is None:
                del by_topic[name]
            else:
                by_topic[name] = [(p, -1, -1, "", ErrorCode.TOPIC_AUTHORIZATION_FAILED) for p, *_ in by_topic[name]]
    return list(by_topic.items())

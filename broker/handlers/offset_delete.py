"""OffsetDelete (47), version 0.

- Deletes a group's committed offsets (tombstones in ``__consumer_offsets``). Unknown group:
  GROUP_ID_NOT_FOUND. A group with members may delete only offsets of topics it does not subscribe
  to (GROUP_SUBSCRIBED_TO_TOPIC per partition); a non-consumer group with members: NON_EMPTY_GROUP.
- A partition that does not exist: UNKNOWN_TOPIC_OR_PARTITION; one with no offset: NONE.
- Answered once the tombstones are committed; NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS as the
  top-level error when this broker does not own, or is loading, the group's partition.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import Completion, coordinator
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.offset_delete import (
    OFFSET_DELETE,
    OffsetDeleteRequest,
    OffsetDeleteResponse,
    OffsetDeleteResponsePartition,
    OffsetDeleteResponseTopic,
)


@handles(OFFSET_DELETE, versions="0-0")
async def handle_offset_delete(ctx: RequestContext, request: OffsetDeleteRequest) -> OffsetDeleteResponse:
    if not _authz.allowed(ctx, RT.GROUP, request.group_id):
        return OffsetDeleteResponse(error_code=ErrorCode.GROUP_AUTHORIZATION_FAILED)
    unknown: dict[tuple[str, int], ErrorCode] = {}
    partitions = []
    for topic in request.topics:
        count = ctx.components.metadata_cache.num_partitions(topic.name)
        for p in topic.partitions:
            tp = (topic.name, p.partition_index)
            if count is None or not 0 <= p.partition_index < count:
                unknown[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else:
                partitions.append(tp)
    done: Completion[tuple[ErrorCode, dict[tuple[str, int], ErrorCode]]] = Completion()
    coordinator(ctx).delete_offsets(request.group_id, partitions, done.set)
    error, errors = await done
    if error is not ErrorCode.NONE:
        return OffsetDeleteResponse(error_code=error)
    errors.update(unknown)
    return OffsetDeleteResponse(
        error_code=ErrorCode.NONE,
        topics=[
            OffsetDeleteResponseTopic(
                name=topic.name,
                partitions=[
                    OffsetDeleteResponsePartition(
                        partition_index=p.partition_index, error_code=errors[(topic.name, p.partition_index)]
                    )
                    for p in topic.partitions
                ],
            )
            for topic in request.topics
        ],
    )

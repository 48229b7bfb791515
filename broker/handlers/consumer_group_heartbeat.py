"""ConsumerGroupHeartbeat (68), versions 0-1: KIP-848 members join, reconcile and leave.

- The state machine is ``broker/coordinator/group/consumer/``; this handler only translates topic
  ids (the wire) to names (the coordinator) and back. Owned partitions of topic ids this broker does
  not know are dropped (the topic is gone, so nobody owns them); assigned topics that no longer exist
  are left out of the answer.
- Errors carry Kafka's messages (INVALID_REQUEST for malformed requests, UNKNOWN_MEMBER_ID,
  FENCED_MEMBER_EPOCH, UNRELEASED_INSTANCE_ID, FENCED_INSTANCE_ID, UNSUPPORTED_ASSIGNOR,
  GROUP_ID_NOT_FOUND, INVALID_REGULAR_EXPRESSION); the member id and epoch are set only on success.
  COORDINATOR_NOT_AVAILABLE while ``__consumer_offsets`` is being created (see ``_groups``);
  NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS when this broker does not own, or is loading, the
  group's partition. A heartbeat that changes the group epoch is answered once its record is committed.
- v0: a joining member (epoch 0) may send no member id, and the coordinator makes one. v1 (KIP-1082):
  the client always brings its own member id; ``subscribed_topic_regex`` (KIP-848's regex
  subscription) is read from v1 only, as the field exists only there.
"""

from __future__ import annotations

from broker.coordinator.group.consumer.assignors import Assignment
from broker.coordinator.group.consumer.validation import Heartbeat, HeartbeatResult
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import Completion, coordinator, offsets_topic_ready
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.consumer_group_heartbeat import (
    CONSUMER_GROUP_HEARTBEAT,
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
    TopicPartitions,
)
from protocol.messages.consumer_group_heartbeat import (
    Assignment as WireAssignment,
)


@handles(CONSUMER_GROUP_HEARTBEAT, versions="0-1")
async def handle_consumer_group_heartbeat(
    ctx: RequestContext, request: ConsumerGroupHeartbeatRequest
) -> ConsumerGroupHeartbeatResponse:
    if not _authz.allowed(ctx, RT.GROUP, request.group_id):
        return ConsumerGroupHeartbeatResponse(error_code=ErrorCode.GROUP_AUTHORIZATION_FAILED, error_message=None)
    if not await offsets_topic_ready(ctx):
        return ConsumerGroupHeartbeatResponse(
            error_code=ErrorCode.COORDINATOR_NOT_AVAILABLE, error_message="The coordinator is not available."
        )
    cache = ctx.components.metadata_cache
    owned: Assignment | None = None
    if request.topic_partitions is not None:
        owned = {}
        for tp in request.topic_partitions:
            topic = cache.topic_by_id(tp.topic_id)
            if topic is not None:
                owned.setdefault(topic.name, set()).update(tp.partitions)
    heartbeat = Heartbeat(
        group_id=request.group_id,
        member_id=request.member_id,
        member_epoch=request.member_epoch,
        instance_id=request.instance_id,
        rack_id=request.rack_id,
        rebalance_timeout_ms=request.rebalance_timeout_ms,
        subscribed_topic_names=request.subscribed_topic_names,
        subscribed_topic_regex=request.subscribed_topic_regex if ctx.version >= 1 else None,
        server_assignor=request.server_assignor,
        owned=owned,
        client_id=ctx.client_id,
        client_host=f"/{ctx.client_host}",
        version=ctx.version,
    )
    done: Completion[HeartbeatResult] = Completion()
    coordinator(ctx).consumer.heartbeat(heartbeat, done.set)
    result = await done
    if result.error is not ErrorCode.NONE:
        return ConsumerGroupHeartbeatResponse(error_code=result.error, error_message=result.message)
    assignment = None
    if result.assignment is not None:
        assignment = WireAssignment(
            topic_partitions=[
                TopicPartitions(topic_id=known.topic_id, partitions=sorted(partitions))
                for name, partitions in sorted(result.assignment.items())
                if (known := cache.topic(name)) is not None
            ]
        )
    return ConsumerGroupHeartbeatResponse(
        error_code=ErrorCode.NONE,
        member_id=result.member_id,
        member_epoch=result.member_epoch,
        heartbeat_interval_ms=result.heartbeat_interval_ms,
        assignment=assignment,
    )

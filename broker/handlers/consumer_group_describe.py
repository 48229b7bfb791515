"""ConsumerGroupDescribe (69), version 0: KIP-848 groups with their epochs, members and assignments.

- Per group: state (Empty, Assigning, Reconciling, Stable), group epoch, target assignment epoch,
  the assignor the group uses (the one most members name, else the first of
  ``group.consumer.assignors``), and per member its epoch, subscription, current assignment and
  target assignment (topic id, name and partitions; topics deleted since are left out).
- A group that does not exist, or is a classic group: GROUP_ID_NOT_FOUND, as Kafka answers (admin
  clients then fall back to DescribeGroups for classic groups).
- NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS for a group whose partition this broker does not
  own or is loading.
- Authorized operations when asked (no authorizer: READ, DELETE and DESCRIBE).
"""

from __future__ import annotations

from broker.coordinator.group.consumer.assignors import Assignment
from broker.coordinator.group.consumer.manager import STATUS_MESSAGES
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import coordinator
from broker.metadata_cache import MetadataCache
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.consumer_group_describe import (
    CONSUMER_GROUP_DESCRIBE,
    ConsumerGroupDescribeRequest,
    ConsumerGroupDescribeResponse,
    DescribedGroup,
    Member,
    TopicPartitions,
)
from protocol.messages.consumer_group_describe import (
    Assignment as WireAssignment,
)


@handles(CONSUMER_GROUP_DESCRIBE, versions="0")
async def handle_consumer_group_describe(
    ctx: RequestContext, request: ConsumerGroupDescribeRequest
) -> ConsumerGroupDescribeResponse:
    manager = coordinator(ctx).consumer
    topics = ctx.components.metadata_cache
    described = []
    for group_id in request.group_ids:
        status = coordinator(ctx).ownership.status(group_id)
        if not _authz.allowed(ctx, RT.GROUP, group_id):
            status = ErrorCode.GROUP_AUTHORIZATION_FAILED
        if status is not ErrorCode.NONE:
            message = STATUS_MESSAGES.get(status)
            described.append(DescribedGroup(error_code=status, error_message=message, group_id=group_id))
            continue
        group = manager.groups.get(group_id)
        if group is None:
            kind = "is not a consumer group" if group_id in coordinator(ctx).groups else "not found"
            described.append(
                DescribedGroup(
                    error_code=ErrorCode.GROUP_ID_NOT_FOUND,
                    error_message=f"Group {group_id} {kind}.",
                    group_id=group_id,
                )
            )
            continue
        described.append(
            DescribedGroup(
                error_code=ErrorCode.NONE,
                group_id=group_id,
                group_state=str(group.state),
                group_epoch=group.group_epoch,
                assignment_epoch=group.assignment_epoch,
                assignor_name=group.preferred_assignor(manager.assignors[0]),
                members=[
                    Member(
                        member_id=m.member_id,
                        instance_id=m.instance_id,
                        rack_id=m.rack_id,
                        member_epoch=m.member_epoch,
                        client_id=m.client_id,
                        client_host=m.client_host,
                        subscribed_topic_names=list(m.subscribed_topic_names),
                        subscribed_topic_regex=m.subscribed_topic_regex,
                        assignment=_wire(topics, m.assigned),
                        target_assignment=_wire(topics, group.target.get(m.member_id, {})),
                    )
                    for m in group.members.values()
                ],
                authorized_operations=_authz.authorized_operations(
                    ctx, request.include_authorized_operations, RT.GROUP, group_id
                ),
            )
        )
    return ConsumerGroupDescribeResponse(groups=described)


def _wire(topics: MetadataCache, assignment: Assignment) -> WireAssignment:
    return WireAssignment(
        topic_partitions=[
            TopicPartitions(topic_id=known.topic_id, topic_name=name, partitions=sorted(partitions))
            for name, partitions in sorted(assignment.items())
            if (known := topics.topic(name)) is not None
        ]
    )

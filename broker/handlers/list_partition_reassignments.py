"""ListPartitionReassignments (46), version 0 (the only one Kafka defines).

Cluster mode, as Kafka 2.4+'s ZooKeeper-mode broker: the controller answers, per partition being
reassigned (of the named ones, or all when ``topics`` is null; a named partition that is unknown or not
moving is left out), its full replica set, the replicas being added and those being removed; a broker
that is not the controller answers the top-level NOT_CONTROLLER. Topics and partitions come sorted.

A single broker without ZooKeeper never reassigns replicas (the only valid target is the current
replica set, which AlterPartitionReassignments completes at once), so the answer lists no topics.

Error NONE with an empty message otherwise (Kafka's generated default, as a real 2.4.1 broker answers).
Flexible from v0.
"""

from __future__ import annotations

from broker.controller.errors import ControllerError
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from protocol.errors import ErrorCode
from protocol.messages.list_partition_reassignments import (
    LIST_PARTITION_REASSIGNMENTS,
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
    OngoingPartitionReassignment,
    OngoingTopicReassignment,
)


@handles(LIST_PARTITION_REASSIGNMENTS, versions="0-0")
async def handle_list_partition_reassignments(
    ctx: RequestContext, request: ListPartitionReassignmentsRequest
) -> ListPartitionReassignmentsResponse:
    if not _authz.cluster_allowed(ctx):
        return ListPartitionReassignmentsResponse(
            error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED, error_message=_authz.cluster_denied_message(ctx)
        )
    wanted = None
    if request.topics is not None:
        wanted = [(t.name, index) for t in request.topics for index in t.partition_indexes]
    try:
        ongoing = await ctx.components.controller.list_partition_reassignments(wanted)
    except ControllerError as exc:
        return ListPartitionReassignmentsResponse(error_code=exc.code, error_message=exc.message, topics=[])
    topics: dict[str, OngoingTopicReassignment] = {}
    for (name, index), moving in sorted(ongoing.items()):
        topic = topics.setdefault(name, OngoingTopicReassignment(name=name))
        topic.partitions.append(
            OngoingPartitionReassignment(
                partition_index=index,
                replicas=list(moving.replicas),
                adding_replicas=list(moving.adding),
                removing_replicas=list(moving.removing),
            )
        )
    return ListPartitionReassignmentsResponse(error_code=ErrorCode.NONE, error_message="", topics=list(topics.values()))

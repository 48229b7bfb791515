"""ListPartitionReassignments (46), version 0.

A single broker never reassigns replicas (the only valid target is the current replica set, which
AlterPartitionReassignments completes at once), so no reassignment is ever in progress: the answer
lists no topics, whatever was asked, with error NONE and a null message, as Kafka answers when none
is ongoing (unknown topics are left out there too). Flexible from v0.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from protocol.errors import ErrorCode
from protocol.messages.list_partition_reassignments import (
    LIST_PARTITION_REASSIGNMENTS,
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
)


@handles(LIST_PARTITION_REASSIGNMENTS, versions="0-0")
async def handle_list_partition_reassignments(
    ctx: RequestContext, request: ListPartitionReassignmentsRequest
) -> ListPartitionReassignmentsResponse:
    if not _authz.cluster_allowed(ctx):
        return ListPartitionReassignmentsResponse(
            error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED, error_message=_authz.cluster_denied_message(ctx)
        )
    return ListPartitionReassignmentsResponse(error_code=ErrorCode.NONE, error_message=None, topics=[])

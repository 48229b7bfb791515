"""SyncGroup (14), versions 0-5.

- The leader's request carries every member's assignment; the coordinator stores it in
  ``__consumer_offsets`` and answers every waiting member. Members that sync before the leader wait.
  In a Stable group, a member gets its current assignment at once (the leader's assignments are
  ignored then, as in Kafka).
- v3+: group instance id (FENCED_INSTANCE_ID). v5+: protocol type and name, checked against the
  group's (INCONSISTENT_GROUP_PROTOCOL) and returned.
- The leader's assignment is answered once its record is committed; until then the group stays
  CompletingRebalance and every member's SyncGroup waits.
- Errors: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS (a new rebalance started, or
  the group's partition is loading: the rebalance must start over, as Kafka answers),
  NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE; UNKNOWN_SERVER_ERROR when the assignment cannot be
  stored (too large).
"""

from __future__ import annotations

from broker.coordinator.group.group import SyncResult
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import Completion, coordinator
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.sync_group import SYNC_GROUP, SyncGroupRequest, SyncGroupResponse


@handles(SYNC_GROUP, versions="0-5")
async def handle_sync_group(ctx: RequestContext, request: SyncGroupRequest) -> SyncGroupResponse:
    if not _authz.allowed(ctx, RT.GROUP, request.group_id):
        return SyncGroupResponse(error_code=ErrorCode.GROUP_AUTHORIZATION_FAILED)
    done: Completion[SyncResult] = Completion()
    coordinator(ctx).sync_group(
        request.group_id,
        request.generation_id,
        request.member_id,
        request.group_instance_id if ctx.version >= 3 else None,
        request.protocol_type if ctx.version >= 5 else None,
        request.protocol_name if ctx.version >= 5 else None,
        {a.member_id: a.assignment for a in request.assignments},
        done.set,
    )
    result = await done
    return SyncGroupResponse(
        error_code=result.error,
        protocol_type=result.protocol_type,
        protocol_name=result.protocol_name,
        assignment=result.assignment,
    )

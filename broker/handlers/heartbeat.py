"""Heartbeat (12), versions 0-4.

- Resets the member's session timer. REBALANCE_IN_PROGRESS tells a member to rejoin; also
  UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID (v3+: group instance id),
  INVALID_GROUP_ID, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR. While the group's partition loads:
  NONE, as Kafka answers (the member is not known yet; it learns of a rebalance later).
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import coordinator
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.heartbeat import HEARTBEAT, HeartbeatRequest, HeartbeatResponse


@handles(HEARTBEAT, versions="0-4")
async def handle_heartbeat(ctx: RequestContext, request: HeartbeatRequest) -> HeartbeatResponse:
    if not _authz.allowed(ctx, RT.GROUP, request.group_id):
        return HeartbeatResponse(error_code=ErrorCode.GROUP_AUTHORIZATION_FAILED)
    error = coordinator(ctx).heartbeat(
        request.group_id,
        request.member_id,
        request.group_instance_id if ctx.version >= 3 else None,
        request.generation_id,
    )
    return HeartbeatResponse(error_code=error)

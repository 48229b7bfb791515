"""LeaveGroup (13), versions 0-5.

- v0-2: one member by id; its error is the top-level error.
- v3+: a batch of members, each by member id and/or group instance id, each with its own error (an
  admin removes a static member by instance id alone, with an empty member id; KIP-345).
- v5+: a reason per member (logged only). The group rebalances without the members that left.
- NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS as the top-level error when the group's partition is
  not this broker's, or is loading.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import coordinator
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.leave_group import LEAVE_GROUP, LeaveGroupRequest, LeaveGroupResponse, MemberResponse


@handles(LEAVE_GROUP, versions="0-5")
async def handle_leave_group(ctx: RequestContext, request: LeaveGroupRequest) -> LeaveGroupResponse:
    if not _authz.allowed(ctx, RT.GROUP, request.group_id):
        return LeaveGroupResponse(error_code=ErrorCode.GROUP_AUTHORIZATION_FAILED)
    leaving: list[tuple[str, str | None]]
    if ctx.version < 3:
        leaving = [(request.member_id, None)]
    else:
        leaving = [(m.member_id, m.group_instance_id) for m in request.members]
    error, errors = coordinator(ctx).leave_group(request.group_id, leaving)
    if ctx.version < 3:
        single = errors[0] if errors else ErrorCode.NONE
        return LeaveGroupResponse(error_code=error if error is not ErrorCode.NONE else single)
    return LeaveGroupResponse(
        error_code=error,
        members=[
            MemberResponse(member_id=m, group_instance_id=i, error_code=e)
            for (m, i), e in zip(leaving, errors, strict=False)
        ],
    )

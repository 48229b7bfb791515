"""DescribeGroups (15), versions 0-5.

- An unknown group is described as Dead with no members and error NONE, as Kafka does. A group
  whose partition this broker does not own or is loading: NOT_COORDINATOR /
  COORDINATOR_LOAD_IN_PROGRESS with an empty state, as Kafka answers.
- Members' metadata and assignments are shown only for a Stable group (and its protocol); in other
  states the protocol is "" and the members carry neither, as in Kafka.
- v3+: authorized operations when asked (no authorizer: READ, DELETE and DESCRIBE).
  v4+: group instance ids.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import coordinator
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.describe_groups import (
    DESCRIBE_GROUPS,
    DescribedGroup,
    DescribedGroupMember,
    DescribeGroupsRequest,
    DescribeGroupsResponse,
)

GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8)  # READ, DELETE, DESCRIBE
NOT_REQUESTED = -2147483648


@handles(DESCRIBE_GROUPS, versions="0-5")
async def handle_describe_groups(ctx: RequestContext, request: DescribeGroupsRequest) -> DescribeGroupsResponse:
    with_ops = ctx.version >= 3 and request.include_authorized_operations
    groups = []
    for group_id in request.groups:
        if not _authz.allowed(ctx, RT.GROUP, group_id):
            groups.append(DescribedGroup(error_code=ErrorCode.GROUP_AUTHORIZATION_FAILED, group_id=group_id))
            continue
        summary = coordinator(ctx).describe_group(group_id)
        groups.append(
            DescribedGroup(
                error_code=summary.error,
                group_id=group_id,
                group_state=summary.state,
                protocol_type=summary.protocol_type,
                protocol_data=summary.protocol,
                members=[
                    DescribedGroupMember(
                        member_id=m.member_id,
                        group_instance_id=m.group_instance_id,
                        client_id=m.client_id,
                        client_host=m.client_host,
                        member_metadata=m.metadata,
                        member_assignment=m.assignment,
                    )
                    for m in summary.members
                ],
                authorized_operations=_authz.authorized_operations(ctx, with_ops, RT.GROUP, group_id),
            )
        )
    return DescribeGroupsResponse(groups=groups)

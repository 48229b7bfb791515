"""ListGroups (16), versions 0-5.

- Every group this broker coordinates that is not Dead, groups holding only offsets included (their
  protocol type is "").
- v4+: states filter (names compared case-insensitively; an unknown name matches nothing).
  v5+: types filter; every group here is "classic" (case-insensitive), so "consumer" matches none.
"""

from __future__ import annotations

from broker.coordinator.group.state import GroupState, parse_state
from broker.dispatcher import RequestContext, handles
from broker.handlers._groups import coordinator
from protocol.errors import ErrorCode
from protocol.messages.list_groups import LIST_GROUPS, ListedGroup, ListGroupsRequest, ListGroupsResponse

CLASSIC = "classic"


@handles(LIST_GROUPS, versions="0-5")
async def handle_list_groups(ctx: RequestContext, request: ListGroupsRequest) -> ListGroupsResponse:
    states: set[GroupState] | None = None
    if ctx.version >= 4 and request.states_filter:
        states = {s for s in map(parse_state, request.states_filter) if s is not None}
        if not states:
            return ListGroupsResponse(error_code=ErrorCode.NONE)
    if ctx.version >= 5 and request.types_filter and CLASSIC not in {t.lower() for t in request.types_filter}:
        return ListGroupsResponse(error_code=ErrorCode.NONE)
    return ListGroupsResponse(
        error_code=ErrorCode.NONE,
        groups=[
            ListedGroup(
                group_id=g.group_id, protocol_type=g.protocol_type or "", group_state=str(g.state), group_type=CLASSIC
            )
            for g in coordinator(ctx).list_groups(states)
        ],
    )

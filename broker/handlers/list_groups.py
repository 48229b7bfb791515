"""ListGroups (16), versions 0-5.

- Every group this broker coordinates that is not Dead, groups holding only offsets included (their
  protocol type is ""). KIP-848 groups are listed with protocol type "consumer", their own states
  (Empty, Assigning, Reconciling, Stable) and type "consumer"; classic groups with type "classic".
- COORDINATOR_LOAD_IN_PROGRESS while a partition of ``__consumer_offsets`` loads (the groups listed
  are those loaded so far), as Kafka answers.
- v4+: states filter (names compared case-insensitively; an unknown name matches nothing).
  v5+: types filter ("classic", "consumer", case-insensitive; unknown types match nothing).
"""

from __future__ import annotations

from broker.coordinator.group.state import GroupState, parse_state
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import coordinator
from broker.security.acl import ResourceType as RT
from protocol.messages.list_groups import LIST_GROUPS, ListedGroup, ListGroupsRequest, ListGroupsResponse

CLASSIC, CONSUMER = "classic", "consumer"


@handles(LIST_GROUPS, versions="0-5")
async def handle_list_groups(ctx: RequestContext, request: ListGroupsRequest) -> ListGroupsResponse:
    names: set[str] = set()
    states: set[GroupState] | None = None
    if ctx.version >= 4 and request.states_filter:
        names = {s.strip().lower() for s in request.states_filter}
        states = {s for s in map(parse_state, request.states_filter) if s is not None}
    types = {t.lower() for t in request.types_filter} if ctx.version >= 5 and request.types_filter else None
    groups: list[ListedGroup] = []
    if (types is None or CLASSIC in types) and (states is None or states):
        groups += [
            ListedGroup(
                group_id=g.group_id, protocol_type=g.protocol_type or "", group_state=str(g.state), group_type=CLASSIC
            )
            for g in coordinator(ctx).list_groups(states)
        ]
    if types is None or CONSUMER in types:
        groups += [
            ListedGroup(group_id=g.group_id, protocol_type=CONSUMER, group_state=str(g.state), group_type=CONSUMER)
            for g in coordinator(ctx).consumer.groups.values()
            if not names or str(g.state).lower() in names
        ]
    if not _authz.allowed(ctx, RT.CLUSTER):  # without DESCRIBE on the cluster: the groups it may describe
        groups = [g for g in groups if _authz.allowed(ctx, RT.GROUP, g.group_id)]
    return ListGroupsResponse(error_code=coordinator(ctx).list_groups_error(), groups=groups)

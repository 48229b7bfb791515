"""DeleteGroups (42), versions 0-2.

- An Empty group is deleted with its offsets (tombstones in ``__consumer_offsets``); a group with
  members gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND. One result per group.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers._groups import coordinator
from protocol.messages.delete_groups import (
    DELETE_GROUPS,
    DeletableGroupResult,
    DeleteGroupsRequest,
    DeleteGroupsResponse,
)


@handles(DELETE_GROUPS, versions="0-2")
async def handle_delete_groups(ctx: RequestContext, request: DeleteGroupsRequest) -> DeleteGroupsResponse:
    results = coordinator(ctx).delete_groups(list(dict.fromkeys(request.groups_names)))
    return DeleteGroupsResponse(results=[DeletableGroupResult(group_id=g, error_code=e) for g, e in results.items()])

"""DeleteGroups (42), versions 0-2.

- An Empty group is deleted with its offsets (tombstones in ``__consumer_offsets``); a group with
  members gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND. One result per group, answered
  once every deletion's tombstones are committed; NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS for
  a group whose partition this broker does not own or is loading.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import Completion, coordinator
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.delete_groups import (
    DELETE_GROUPS,
    DeletableGroupResult,
    DeleteGroupsRequest,
    DeleteGroupsResponse,
)


@handles(DELETE_GROUPS, versions="0-2")
async def handle_delete_groups(ctx: RequestContext, request: DeleteGroupsRequest) -> DeleteGroupsResponse:
    names = list(dict.fromkeys(request.groups_names))
    denied = {g: ErrorCode.GROUP_AUTHORIZATION_FAILED for g in names if not _authz.allowed(ctx, RT.GROUP, g)}
    allowed = [g for g in names if g not in denied]
    results = dict(denied)
    if allowed:  # the coordinator answers once per deletion: none asked for, no answer
        done: Completion[dict[str, ErrorCode]] = Completion()
        coordinator(ctx).delete_groups(allowed, done.set)
        results.update(await done)
    return DeleteGroupsResponse(results=[DeletableGroupResult(group_id=g, error_code=results[g]) for g in names])

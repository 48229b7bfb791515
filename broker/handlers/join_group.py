"""JoinGroup (11), versions 0-9.

- The answer waits until the rebalance completes (the coordinator calls back), or comes at once for
  an error. v0 has no rebalance timeout: the session timeout serves as both, as in Kafka.
- After the join completes, members must sync within the larger of their rebalance and session
  timeouts. Kafka 3.x uses the rebalance timeout alone (a member that joined with 0, as kafkajs's
  low-level API sends, is removed before it can sync); Kafka 2.4 had no deadline. The session timeout
  as the floor lets both kinds of client sync.
- v4+: a member joining with no id gets MEMBER_ID_REQUIRED and its id, and must join again with it
  (KIP-394); older versions are given an id and join at once. Static members (v5+, group.instance.id)
  never need the second join.
- v5+: group instance id (KIP-345); FENCED_INSTANCE_ID for a member whose instance id was taken over.
- v7+: protocol type and name in the answer. v8+: a reason (logged only). v9+: a static leader that
  rejoins a Stable group unchanged gets skip_assignment and the members (KIP-814); older versions
  get no members, so the leader's SyncGroup just fetches its current assignment.
- Errors: INVALID_GROUP_ID (empty), INVALID_SESSION_TIMEOUT (outside group.min/max.session.timeout.ms),
  UNKNOWN_MEMBER_ID, INCONSISTENT_GROUP_PROTOCOL (empty protocol type or list, or nothing in common
  with the group), GROUP_MAX_SIZE_REACHED, REBALANCE_IN_PROGRESS (a newer join of the same member
  replaced this one), COORDINATOR_NOT_AVAILABLE (also while ``__consumer_offsets`` is being created;
  see ``_groups``), NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS (the group's partition is not
  this broker's, or is loading).
"""

from __future__ import annotations

from broker.coordinator.group.group import JoinResult
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import Completion, coordinator, offsets_topic_ready
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.join_group import JOIN_GROUP, JoinGroupRequest, JoinGroupResponse, JoinGroupResponseMember


@handles(JOIN_GROUP, versions="0-9")
async def handle_join_group(ctx: RequestContext, request: JoinGroupRequest) -> JoinGroupResponse:
    if not _authz.allowed(ctx, RT.GROUP, request.group_id):
        return _answer(ctx, JoinResult(ErrorCode.GROUP_AUTHORIZATION_FAILED))
    if not await offsets_topic_ready(ctx):
        return _answer(ctx, JoinResult(ErrorCode.COORDINATOR_NOT_AVAILABLE, member_id=request.member_id))
    done: Completion[JoinResult] = Completion()
    coordinator(ctx).join_group(
        request.group_id,
        request.member_id,
        request.group_instance_id if ctx.version >= 5 else None,
        require_known_member_id=ctx.version >= 4,
        supports_skip_assignment=ctx.version >= 9,
        client_id=ctx.client_id,
        client_host=f"/{ctx.client_host}",
        rebalance_timeout_ms=request.rebalance_timeout_ms if ctx.version >= 1 else request.session_timeout_ms,
        session_timeout_ms=request.session_timeout_ms,
        protocol_type=request.protocol_type,
        protocols=[(p.name, p.metadata) for p in request.protocols],
        callback=done.set,
    )
    return _answer(ctx, await done)


def _answer(ctx: RequestContext, result: JoinResult) -> JoinGroupResponse:
    return JoinGroupResponse(
        error_code=result.error,
        generation_id=result.generation_id,
        protocol_type=result.protocol_type,
        protocol_name=result.protocol_name if ctx.version >= 7 else (result.protocol_name or ""),
        leader=result.leader_id,
        skip_assignment=result.skip_assignment,
        member_id=result.member_id,
        members=[
            JoinGroupResponseMember(member_id=m, group_instance_id=i, metadata=data) for m, i, data in result.members
        ],
    )

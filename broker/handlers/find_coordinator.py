"""FindCoordinator (10), versions 0-6.

- Key type 0 (group): the leader of the group's ``__consumer_offsets`` partition, from the metadata
  cache, at its address on the request's listener (none: COORDINATOR_NOT_AVAILABLE). The topic
  is created on the first request, as Kafka does, without stalling other clients: the request that
  starts the creation waits for it and then answers; requests meanwhile get COORDINATOR_NOT_AVAILABLE
  (clients retry), as Kafka answers while its new offsets topic is being created and loaded.
- Key type 1 (transaction): the leader of the transactional id's ``__transaction_state`` partition,
  the topic created on the first request in the same way (COORDINATOR_NOT_AVAILABLE meanwhile).
  Any other key type: INVALID_REQUEST.
- v0: no key type (always a group). v1+: error message. v4+: many keys in one request, one
  coordinator (with its own error) per key; the top-level fields are gone.
"""

from __future__ import annotations

from broker.coordinator.group.store import OFFSETS_TOPIC
from broker.coordinator.transaction.store import TRANSACTION_TOPIC
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import offsets_topic_ready
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.find_coordinator import (
    FIND_COORDINATOR,
    Coordinator,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
)

GROUP, TRANSACTION = 0, 1


@handles(FIND_COORDINATOR, versions="0-6")
async def handle_find_coordinator(ctx: RequestContext, request: FindCoordinatorRequest) -> FindCoordinatorResponse:
    keys = request.coordinator_keys if ctx.version >= 4 else [request.key]
    found = [await _find(ctx, request.key_type, key) for key in keys]
    if ctx.version >= 4:
        return FindCoordinatorResponse(coordinators=found)
    one = found[0]
    return FindCoordinatorResponse(
        error_code=one.error_code, error_message=one.error_message, node_id=one.node_id, host=one.host, port=one.port
    )


async def _find(ctx: RequestContext, key_type: int, key: str) -> Coordinator:
    def error(code: ErrorCode, message: str) -> Coordinator:
        return Coordinator(key=key, node_id=-1, host="", port=-1, error_code=code, error_message=message)

    if key_type == TRANSACTION and not _authz.allowed(ctx, RT.TRANSACTIONAL_ID, key):
        return error(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "Transactional Id authorization failed.")
    if key_type == GROUP and not _authz.allowed(ctx, RT.GROUP, key):
        return error(ErrorCode.GROUP_AUTHORIZATION_FAILED, "Group authorization failed.")
    if key_type == TRANSACTION:
        transactions = ctx.components.transaction_coordinator
        if not await transactions.ensure_topic():
            return error(ErrorCode.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.")
        leader = ctx.components.metadata_cache.leader_endpoint(
            TRANSACTION_TOPIC, transactions.log.partition_for(key), ctx.listener
        )
    elif key_type != GROUP:
        return error(ErrorCode.INVALID_REQUEST, f"Unknown coordinator type {key_type} in FindCoordinator request.")
    else:
        if not await offsets_topic_ready(ctx):
            return error(ErrorCode.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.")
        offsets_topic = ctx.components.group_coordinator.offsets_topic
        leader = ctx.components.metadata_cache.leader_endpoint(
            OFFSETS_TOPIC, offsets_topic.partition_for(key), ctx.listener
        )
    if leader is None:
        return error(ErrorCode.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.")
    node_id, endpoint = leader
    return Coordinator(
        key=key, node_id=node_id, host=endpoint.host, port=endpoint.port, error_code=0, error_message=None
    )

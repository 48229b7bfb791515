"""AddOffsetsToTxn (25), versions 0-4.

The group's ``__consumer_offsets`` partition joins the producer's transaction (so its markers reach
the offsets committed with TxnOffsetCommit), exactly as AddPartitionsToTxn adds a partition: the
same codes (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED from v2 (INVALID_PRODUCER_EPOCH before),
CONCURRENT_TRANSACTIONS, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS). ``__consumer_offsets`` is
created first if it does not exist (COORDINATOR_NOT_AVAILABLE while it is being created).

Version notes: v2 PRODUCER_FENCED; v3 flexible; v4 same as v3 (TRANSACTION_ABORTABLE, never answered).
"""

from __future__ import annotations

from broker.coordinator.group.store import OFFSETS_TOPIC
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import offsets_topic_ready
from broker.handlers._transactions import for_version, txn_coordinator
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.add_offsets_to_txn import ADD_OFFSETS_TO_TXN, AddOffsetsToTxnRequest, AddOffsetsToTxnResponse

PRODUCER_FENCED_VERSION = 2


@handles(ADD_OFFSETS_TO_TXN, versions="0-4")
async def handle_add_offsets_to_txn(ctx: RequestContext, request: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse:
    if not _authz.allowed(ctx, RT.TRANSACTIONAL_ID, request.transactional_id):
        return AddOffsetsToTxnResponse(error_code=ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    if not _authz.allowed(ctx, RT.GROUP, request.group_id):
        return AddOffsetsToTxnResponse(error_code=ErrorCode.GROUP_AUTHORIZATION_FAILED)
    if not await offsets_topic_ready(ctx):
        return AddOffsetsToTxnResponse(error_code=ErrorCode.COORDINATOR_NOT_AVAILABLE)
    index = ctx.components.group_coordinator.offsets_topic.partition_for(request.group_id)
    code = await txn_coordinator(ctx).add_partitions(
        request.transactional_id, request.producer_id, request.producer_epoch, {(OFFSETS_TOPIC, index)}
    )
    return AddOffsetsToTxnResponse(error_code=for_version(code, ctx.version, PRODUCER_FENCED_VERSION))

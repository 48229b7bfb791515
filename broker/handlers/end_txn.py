"""EndTxn (26), versions 0-4.

Commits or aborts the producer's open transaction: answered NONE once PrepareCommit/PrepareAbort is
committed in ``__transaction_state``; the coordinator then writes the COMMIT/ABORT markers to every
partition of the transaction and CompleteCommit/CompleteAbort after them (CONCURRENT_TRANSACTIONS
to the producer's requests meanwhile). A retry of a completed end with the same result: NONE; the
other result, or no open transaction: INVALID_TXN_STATE. INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED
(INVALID_PRODUCER_EPOCH before v2), NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS as AddPartitionsToTxn.

Not supported: v5 (KIP-890 part 2, an epoch bump on every transaction with transaction version 2);
clients use v4 with this broker.

Version notes: v2 PRODUCER_FENCED; v3 flexible; v4 TRANSACTION_ABORTABLE (never answered here).
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._transactions import for_version, txn_coordinator
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.end_txn import END_TXN, EndTxnRequest, EndTxnResponse

PRODUCER_FENCED_VERSION = 2


@handles(END_TXN, versions="0-4")
async def handle_end_txn(ctx: RequestContext, request: EndTxnRequest) -> EndTxnResponse:
    if not _authz.allowed(ctx, RT.TRANSACTIONAL_ID, request.transactional_id):
        return EndTxnResponse(error_code=ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    code = await txn_coordinator(ctx).end_transaction(
        request.transactional_id, request.producer_id, request.producer_epoch, request.committed
    )
    return EndTxnResponse(error_code=for_version(code, ctx.version, PRODUCER_FENCED_VERSION))

"""EndTxn (26), versions 0-5.

Commits or aborts the producer's open transaction: answered NONE once PrepareCommit/PrepareAbort is
committed in ``__transaction_state``; the coordinator then writes the COMMIT/ABORT markers to every
partition of the transaction and CompleteCommit/CompleteAbort after them (CONCURRENT_TRANSACTIONS
to the producer's requests meanwhile). A retry of a completed end with the same result: NONE; the
other result, or no open transaction: INVALID_TXN_STATE. INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED
(INVALID_PRODUCER_EPOCH before v2), NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS as AddPartitionsToTxn.

v5 is transaction version 2 (KIP-890 part 2): every end bumps the producer's epoch (the markers carry
the new one; a new producer id at epoch 0 once the epochs are exhausted) and the answer carries the
producer id and epoch to go on with (-1 on errors). A retry after the end (the epoch one below the
current one) is answered NONE with the current ones (CONCURRENT_TRANSACTIONS while its markers are
in flight, when the new epoch itself is PRODUCER_FENCED, as Kafka decides); an abort with no open
transaction bumps the epoch too. v5 is advertised only with ``unstable.api.versions.enable`` (Kafka
3.9 marks it unstable).

Version notes: v2 PRODUCER_FENCED; v3 flexible; v4 TRANSACTION_ABORTABLE (never answered here); v5
epoch bump on every end, producer id and epoch in the response.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._transactions import for_version, txn_coordinator
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.end_txn import END_TXN, EndTxnRequest, EndTxnResponse

PRODUCER_FENCED_VERSION = 2
EPOCH_BUMP_VERSION = 5


@handles(END_TXN, versions="0-5")
async def handle_end_txn(ctx: RequestContext, request: EndTxnRequest) -> EndTxnResponse:
    if not _authz.allowed(ctx, RT.TRANSACTIONAL_ID, request.transactional_id):
        return EndTxnResponse(error_code=ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    coordinator = txn_coordinator(ctx)
    if ctx.version >= EPOCH_BUMP_VERSION:
        code, producer_id, epoch = await coordinator.end_transaction_bumped(
            request.transactional_id, request.producer_id, request.producer_epoch, request.committed
        )
        return EndTxnResponse(error_code=code, producer_id=producer_id, producer_epoch=epoch)
    code = await coordinator.end_transaction(
        request.transactional_id, request.producer_id, request.producer_epoch, request.committed
    )
    return EndTxnResponse(error_code=for_version(code, ctx.version, PRODUCER_FENCED_VERSION))

"""InitProducerId (22), versions 0-5.

- No transactional id (an idempotent producer): a new producer id with epoch 0, every time (a v3+
  request naming its current id and epoch also gets a new id, as Kafka does for non-transactional
  producers). Ids come from ``broker/coordinator/producer_id.py``: blocks of 1000 (Kafka's block
  size) claimed before any of their ids is handed out, so no id is ever given twice, even after a
  crash; on one broker the claim is a small file in the first log dir, written in a worker thread.
- An empty transactional id: INVALID_REQUEST. A transactional id: the transaction coordinator
  (``broker/coordinator/transaction/``), once ``__transaction_state`` exists (created on the first
  request; COORDINATOR_NOT_AVAILABLE meanwhile): a new id gets a producer id at epoch 0; a known
  one the next epoch (a new producer id when the epoch is exhausted), which fences the previous
  producer; an open transaction is aborted first (CONCURRENT_TRANSACTIONS until it is, clients
  retry). A timeout over ``transaction.max.timeout.ms`` (or not positive): INVALID_TRANSACTION_TIMEOUT.
  NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS when this broker does not own, or is loading, the id.

Version notes: v1 same as v0; v2 flexible; v3 producer id and epoch in the request (KIP-360: a producer
naming an id and epoch that are neither the current nor the previous ones gets PRODUCER_FENCED); v4
PRODUCER_FENCED may be answered (older versions get INVALID_PRODUCER_EPOCH); v5 same as v4.

The broker builds one id manager (``BrokerComponents.producer_ids``), shared with the coordinator.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._transactions import for_version, txn_coordinator
from protocol.errors import ErrorCode
from protocol.messages.init_producer_id import INIT_PRODUCER_ID, InitProducerIdRequest, InitProducerIdResponse

PRODUCER_FENCED_VERSION = 4


@handles(INIT_PRODUCER_ID, versions="0-5")
async def handle_init_producer_id(ctx: RequestContext, request: InitProducerIdRequest) -> InitProducerIdResponse:
    def fail(code: ErrorCode) -> InitProducerIdResponse:
        return InitProducerIdResponse(error_code=for_version(code, ctx.version, PRODUCER_FENCED_VERSION),
                                      producer_id=-1, producer_epoch=-1)  # fmt: skip

    txn_id = request.transactional_id
    if (denied := _authz.init_producer_id_denied(ctx, txn_id)) is not None:
        return fail(denied)
    try:
        if txn_id is None:
            producer_id = await ctx.components.producer_ids.generate_producer_id()
            return InitProducerIdResponse(error_code=ErrorCode.NONE, producer_id=producer_id, producer_epoch=0)
        if txn_id == "":
            return fail(ErrorCode.INVALID_REQUEST)
        if not await ctx.components.transaction_coordinator.ensure_topic():
            return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        current_id, current_epoch = (request.producer_id, request.producer_epoch) if ctx.version >= 3 else (-1, -1)
        code, producer_id, epoch = await txn_coordinator(ctx).init_producer_id(
            txn_id, request.transaction_timeout_ms, current_id, current_epoch
        )
    except OSError:
        return fail(ErrorCode.UNKNOWN_SERVER_ERROR)
    if code is not ErrorCode.NONE:
        return fail(code)
    return InitProducerIdResponse(error_code=ErrorCode.NONE, producer_id=producer_id, producer_epoch=epoch)

"""InitProducerId (22), versions 0-5.

- No transactional id (an idempotent producer): a new producer id with epoch 0, every time (a v3+
  request naming its current id and epoch also gets a new id, as Kafka does for non-transactional
  producers). Ids come from ``broker/coordinator/producer_id.py``: blocks of 1000 (Kafka's block
  size) claimed before any of their ids is handed out, so no id is ever given twice, even after a
  crash; on one broker the claim is a small file in the first log dir, written in a worker thread.
- An empty transactional id: INVALID_REQUEST. A transactional id: COORDINATOR_NOT_AVAILABLE (a
  retriable error) until the transaction coordinator exists; clients retry until their timeout.

Version notes: v1 same as v0; v2 flexible; v3 producer id and epoch in the request (KIP-360); v4
PRODUCER_FENCED may be answered; v5 same as v4.

The broker builds one id manager (``BrokerComponents.producer_ids``); the transaction coordinator
will share it.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from protocol.errors import ErrorCode
from protocol.messages.init_producer_id import INIT_PRODUCER_ID, InitProducerIdRequest, InitProducerIdResponse


@handles(INIT_PRODUCER_ID, versions="0-5")
async def handle_init_producer_id(ctx: RequestContext, request: InitProducerIdRequest) -> InitProducerIdResponse:
    if request.transactional_id is not None:
        code = ErrorCode.INVALID_REQUEST if request.transactional_id == "" else ErrorCode.COORDINATOR_NOT_AVAILABLE
        return InitProducerIdResponse(error_code=code, producer_id=-1, producer_epoch=-1)
    try:
        producer_id = await ctx.components.producer_ids.generate_producer_id()
    except OSError:
        return InitProducerIdResponse(error_code=ErrorCode.UNKNOWN_SERVER_ERROR, producer_id=-1, producer_epoch=-1)
    return InitProducerIdResponse(error_code=ErrorCode.NONE, producer_id=producer_id, producer_epoch=0)

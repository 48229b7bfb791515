"""InitProducerId (key 22): allocate (or bump the epoch of) a producer id. Versions 0-5, flexible 2+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int16, Int32, Int64, String, Struct, V, struct


@struct
class InitProducerIdRequest(Struct):
    transactional_id: String | None = ""  # null for an idempotent, non-transactional producer
    transaction_timeout_ms: Int32 = 0
    producer_id: Annotated[Int64, V("3+")] = -1
    producer_epoch: Annotated[Int16, V("3+")] = -1


@struct
class InitProducerIdResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Int16 = 0
    producer_id: Int64 = -1
    producer_epoch: Int16 = 0


INIT_PRODUCER_ID = api(
    22,
    "InitProducerId",
    InitProducerIdRequest,
    InitProducerIdResponse,
    versions="0-5",
    flexible="2+",
)

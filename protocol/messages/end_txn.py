"""EndTxn (key 26): commit or abort a producer's transaction. Versions 0-5, flexible 3+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Bool, Int16, Int32, Int64, String, Struct, V, struct


@struct
class EndTxnRequest(Struct):
    transactional_id: String = ""
    producer_id: Int64 = 0
    producer_epoch: Int16 = 0
    committed: Bool = False  # True commits, False aborts


@struct
class EndTxnResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Int16 = 0
    producer_id: Annotated[Int64, V("5+")] = -1
    producer_epoch: Annotated[Int16, V("5+")] = -1


END_TXN = api(26, "EndTxn", EndTxnRequest, EndTxnResponse, versions="0-5", flexible="3+")

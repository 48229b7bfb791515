"""AddOffsetsToTxn (key 25): add a group's offset commits to a transaction. Versions 0-4, flexible 3+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Int16, Int32, Int64, String, Struct, struct


@struct
class AddOffsetsToTxnRequest(Struct):
    transactional_id: String = ""
    producer_id: Int64 = 0
    producer_epoch: Int16 = 0
    group_id: String = ""


@struct
class AddOffsetsToTxnResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Int16 = 0


ADD_OFFSETS_TO_TXN = api(
    25, "AddOffsetsToTxn", AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, versions="0-4", flexible="3+"
)

"""ListTransactions (key 66): the transactions a coordinator knows, filtered. Versions 0-1, flexible 0+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int16, Int32, Int64, String, Struct, V, struct


@struct
class ListTransactionsRequest(Struct):
    state_filters: list[String] = []
    producer_id_filters: list[Int64] = []
    duration_filter: Annotated[Int64, V("1+")] = -1  # ms; negative: no filter


@struct
class TransactionState(Struct):
    transactional_id: String = ""
    producer_id: Int64 = 0
    transaction_state: String = ""


@struct
class ListTransactionsResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Int16 = 0
    unknown_state_filters: list[String] = []
    transaction_states: list[TransactionState] = []


LIST_TRANSACTIONS = api(
    66, "ListTransactions", ListTransactionsRequest, ListTransactionsResponse, versions="0-1", flexible="0+"
)

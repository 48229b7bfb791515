"""DescribeTransactions (key 65): the state of transactional ids. Versions 0, flexible 0+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Int16, Int32, Int64, String, Struct, struct


@struct
class DescribeTransactionsRequest(Struct):
    transactional_ids: list[String] = []


@struct
class TopicData(Struct):
    topic: String = ""
    partitions: list[Int32] = []


@struct
class TransactionState(Struct):
    error_code: Int16 = 0
    transactional_id: String = ""
    transaction_state: String = ""
    transaction_timeout_ms: Int32 = 0
    transaction_start_time_ms: Int64 = 0
    producer_id: Int64 = 0
    producer_epoch: Int16 = 0
    topics: list[TopicData] = []  # partitions in the transaction that have no marker yet


@struct
class DescribeTransactionsResponse(Struct):
    throttle_time_ms: Int32 = 0
    transaction_states: list[TransactionState] = []


DESCRIBE_TRANSACTIONS = api(
    65,
    "DescribeTransactions",
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
    versions="0-0",
    flexible="0+",
)

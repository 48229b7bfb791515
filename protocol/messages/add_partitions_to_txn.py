"""AddPartitionsToTxn (key 24): add partitions to producers' transactions. Versions 0-5, flexible 3+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Bool, Int16, Int32, Int64, String, Struct, V, struct


@struct
class AddPartitionsToTxnTopic(Struct):
    name: String = ""
    partitions: list[Int32] = []


@struct
class AddPartitionsToTxnTransaction(Struct):
    transactional_id: Annotated[String, V("4+")] = ""
    producer_id: Annotated[Int64, V("4+")] = 0
    producer_epoch: Annotated[Int16, V("4+")] = 0
    verify_only: Annotated[Bool, V("4+")] = False
    topics: Annotated[list[AddPartitionsToTxnTopic], V("4+")] = []


# Versions 0-3 (clients) carry one transaction at top level; versions 4+ (brokers) a batch of them.
@struct
class AddPartitionsToTxnRequest(Struct):
    transactions: Annotated[list[AddPartitionsToTxnTransaction], V("4+")] = []
    v3_and_below_transactional_id: Annotated[String, V("0-3")] = ""
    v3_and_below_producer_id: Annotated[Int64, V("0-3")] = 0
    v3_and_below_producer_epoch: Annotated[Int16, V("0-3")] = 0
    v3_and_below_topics: Annotated[list[AddPartitionsToTxnTopic], V("0-3")] = []


@struct
class AddPartitionsToTxnPartitionResult(Struct):
    partition_index: Int32 = 0
    partition_error_code: Int16 = 0


@struct
class AddPartitionsToTxnTopicResult(Struct):
    name: String = ""
    results_by_partition: list[AddPartitionsToTxnPartitionResult] = []


@struct
class AddPartitionsToTxnResult(Struct):
    transactional_id: Annotated[String, V("4+")] = ""
    topic_results: Annotated[list[AddPartitionsToTxnTopicResult], V("4+")] = []


@struct
class AddPartitionsToTxnResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Annotated[Int16, V("4+")] = 0
    results_by_transaction: Annotated[list[AddPartitionsToTxnResult], V("4+")] = []
    results_by_topic_v3_and_below: Annotated[list[AddPartitionsToTxnTopicResult], V("0-3")] = []


ADD_PARTITIONS_TO_TXN = api(
    24, "AddPartitionsToTxn", AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, versions="0-5", flexible="3+"
)

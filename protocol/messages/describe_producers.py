"""DescribeProducers (key 61): the active producers of partitions. Versions 0, flexible 0+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Int16, Int32, Int64, String, Struct, struct


@struct
class TopicRequest(Struct):
    name: String = ""
    partition_indexes: list[Int32] = []


@struct
class DescribeProducersRequest(Struct):
    topics: list[TopicRequest] = []


@struct
class ProducerState(Struct):
    producer_id: Int64 = 0
    producer_epoch: Int32 = 0
    last_sequence: Int32 = -1
    last_timestamp: Int64 = -1
    coordinator_epoch: Int32 = 0
    current_txn_start_offset: Int64 = -1


@struct
class PartitionResponse(Struct):
    partition_index: Int32 = 0
    error_code: Int16 = 0
    error_message: String | None = None
    active_producers: list[ProducerState] = []


@struct
class TopicResponse(Struct):
    name: String = ""
    partitions: list[PartitionResponse] = []


@struct
class DescribeProducersResponse(Struct):
    throttle_time_ms: Int32 = 0
    topics: list[TopicResponse] = []


DESCRIBE_PRODUCERS = api(
    61,
    "DescribeProducers",
    DescribeProducersRequest,
    DescribeProducersResponse,
    versions="0-0",
    flexible="0+",
)

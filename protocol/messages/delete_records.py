"""DeleteRecords (key 21): advance partitions' log start offsets. Versions 0-2, flexible 2+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Int16, Int32, Int64, String, Struct, struct


@struct
class DeleteRecordsPartition(Struct):
    partition_index: Int32 = 0
    offset: Int64 = 0  # delete everything before this; -1: the high watermark


@struct
class DeleteRecordsTopic(Struct):
    name: String = ""
    partitions: list[DeleteRecordsPartition] = []


@struct
class DeleteRecordsRequest(Struct):
    topics: list[DeleteRecordsTopic] = []
    timeout_ms: Int32 = 0


@struct
class DeleteRecordsPartitionResult(Struct):
    partition_index: Int32 = 0
    low_watermark: Int64 = 0
    error_code: Int16 = 0


@struct
class DeleteRecordsTopicResult(Struct):
    name: String = ""
    partitions: list[DeleteRecordsPartitionResult] = []


@struct
class DeleteRecordsResponse(Struct):
    throttle_time_ms: Int32 = 0
    topics: list[DeleteRecordsTopicResult] = []


DELETE_RECORDS = api(
    21,
    "DeleteRecords",
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    versions="0-2",
    flexible="2+",
)

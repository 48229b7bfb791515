"""AlterPartitionReassignments (key 45): start or cancel replica reassignments. Versions 0-0, flexible 0+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Int16, Int32, String, Struct, struct


@struct
class ReassignablePartition(Struct):
    partition_index: Int32 = 0
    replicas: list[Int32] | None = None  # null: cancel the pending reassignment


@struct
class ReassignableTopic(Struct):
    name: String = ""
    partitions: list[ReassignablePartition] = []


@struct
class AlterPartitionReassignmentsRequest(Struct):
    timeout_ms: Int32 = 60000
    topics: list[ReassignableTopic] = []


@struct
class ReassignablePartitionResponse(Struct):
    partition_index: Int32 = 0
    error_code: Int16 = 0
    error_message: String | None = ""


@struct
class ReassignableTopicResponse(Struct):
    name: String = ""
    partitions: list[ReassignablePartitionResponse] = []


@struct
class AlterPartitionReassignmentsResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Int16 = 0
    error_message: String | None = ""
    responses: list[ReassignableTopicResponse] = []


ALTER_PARTITION_REASSIGNMENTS = api(
    45,
    "AlterPartitionReassignments",
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
    versions="0-0",
    flexible="0+",
)

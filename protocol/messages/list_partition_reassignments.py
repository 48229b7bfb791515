"""ListPartitionReassignments (key 46): replica reassignments in progress. Versions 0-0, flexible 0+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Int16, Int32, String, Struct, struct


@struct
class ListPartitionReassignmentsTopics(Struct):
    name: String = ""
    partition_indexes: list[Int32] = []


@struct
class ListPartitionReassignmentsRequest(Struct):
    timeout_ms: Int32 = 60000
    topics: list[ListPartitionReassignmentsTopics] | None = None  # null: every reassignment


@struct
class OngoingPartitionReassignment(Struct):
    partition_index: Int32 = 0
    replicas: list[Int32] = []
    adding_replicas: list[Int32] = []
    removing_replicas: list[Int32] = []


@struct
class OngoingTopicReassignment(Struct):
    name: String = ""
    partitions: list[OngoingPartitionReassignment] = []


@struct
class ListPartitionReassignmentsResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Int16 = 0
    error_message: String | None = ""
    topics: list[OngoingTopicReassignment] = []


LIST_PARTITION_REASSIGNMENTS = api(
    46,
    "ListPartitionReassignments",
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
    versions="0-0",
    flexible="0+",
)

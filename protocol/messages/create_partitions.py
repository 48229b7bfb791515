"""CreatePartitions (key 37): raise topics' partition counts. Versions 0-3, flexible 2+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Bool, Int16, Int32, String, Struct, struct


@struct
class CreatePartitionsAssignment(Struct):
    broker_ids: list[Int32] = []


@struct
class CreatePartitionsTopic(Struct):
    name: String = ""
    count: Int32 = 0  # the new total number of partitions
    assignments: list[CreatePartitionsAssignment] | None = []


@struct
class CreatePartitionsRequest(Struct):
    topics: list[CreatePartitionsTopic] = []
    timeout_ms: Int32 = 0
    validate_only: Bool = False


@struct
class CreatePartitionsTopicResult(Struct):
    name: String = ""
    error_code: Int16 = 0
    error_message: String | None = None


@struct
class CreatePartitionsResponse(Struct):
    throttle_time_ms: Int32 = 0
    results: list[CreatePartitionsTopicResult] = []


CREATE_PARTITIONS = api(
    37,
    "CreatePartitions",
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    versions="0-3",
    flexible="2+",
)

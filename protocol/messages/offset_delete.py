"""OffsetDelete (key 47): delete a group's committed offsets of some partitions. Version 0, flexible none."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Int16, Int32, String, Struct, struct


@struct
class OffsetDeleteRequestPartition(Struct):
    partition_index: Int32 = 0


@struct
class OffsetDeleteRequestTopic(Struct):
    name: String = ""
    partitions: list[OffsetDeleteRequestPartition] = []


@struct
class OffsetDeleteRequest(Struct):
    group_id: String = ""
    topics: list[OffsetDeleteRequestTopic] = []


@struct
class OffsetDeleteResponsePartition(Struct):
    partition_index: Int32 = 0
    error_code: Int16 = 0


@struct
class OffsetDeleteResponseTopic(Struct):
    name: String = ""
    partitions: list[OffsetDeleteResponsePartition] = []


@struct
class OffsetDeleteResponse(Struct):
    error_code: Int16 = 0
    throttle_time_ms: Int32 = 0
    topics: list[OffsetDeleteResponseTopic] = []


OFFSET_DELETE = api(47, "OffsetDelete", OffsetDeleteRequest, OffsetDeleteResponse, versions="0", flexible="none")

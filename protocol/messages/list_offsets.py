"""ListOffsets (key 2): partition offsets by timestamp (earliest, latest, ...). Versions 0-10, flexible 6+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int8, Int16, Int32, Int64, String, Struct, V, struct


@struct
class ListOffsetsPartition(Struct):
    partition_index: Int32 = 0
    current_leader_epoch: Annotated[Int32, V("4+")] = -1
    timestamp: Int64 = 0
    max_num_offsets: Annotated[Int32, V("0")] = 1


@struct
class ListOffsetsTopic(Struct):
    name: String = ""
    partitions: list[ListOffsetsPartition] = []


@struct
class ListOffsetsRequest(Struct):
    replica_id: Int32 = 0
    isolation_level: Annotated[Int8, V("2+")] = 0
    topics: list[ListOffsetsTopic] = []
    timeout_ms: Annotated[Int32, V("10+")] = 0


@struct
class ListOffsetsPartitionResponse(Struct):
    partition_index: Int32 = 0
    error_code: Int16 = 0
    old_style_offsets: Annotated[list[Int64], V("0")] = []
    timestamp: Annotated[Int64, V("1+")] = -1
    offset: Annotated[Int64, V("1+")] = -1
    leader_epoch: Annotated[Int32, V("4+")] = -1


@struct
class ListOffsetsTopicResponse(Struct):
    name: String = ""
    partitions: list[ListOffsetsPartitionResponse] = []


@struct
class ListOffsetsResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("2+")] = 0
    topics: list[ListOffsetsTopicResponse] = []


LIST_OFFSETS = api(2, "ListOffsets", ListOffsetsRequest, ListOffsetsResponse, versions="0-10", flexible="6+")

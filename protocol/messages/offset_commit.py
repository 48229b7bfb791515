"""OffsetCommit (key 8): a consumer group commits the offsets it has consumed. Versions 0-9, flexible 8+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int16, Int32, Int64, String, Struct, V, struct


@struct
class OffsetCommitRequestPartition(Struct):
    partition_index: Int32 = 0
    committed_offset: Int64 = 0
    committed_leader_epoch: Annotated[Int32, V("6+")] = -1
    commit_timestamp: Annotated[Int64, V("1")] = -1  # only v1 carries a per-partition timestamp
    committed_metadata: String | None = ""


@struct
class OffsetCommitRequestTopic(Struct):
    name: String = ""
    partitions: list[OffsetCommitRequestPartition] = []


@struct
class OffsetCommitRequest(Struct):
    group_id: String = ""
    generation_id_or_member_epoch: Annotated[Int32, V("1+")] = -1
    member_id: Annotated[String, V("1+")] = ""
    group_instance_id: Annotated[String | None, V("7+")] = None
    retention_time_ms: Annotated[Int64, V("2-4")] = -1
    topics: list[OffsetCommitRequestTopic] = []


@struct
class OffsetCommitResponsePartition(Struct):
    partition_index: Int32 = 0
    error_code: Int16 = 0


@struct
class OffsetCommitResponseTopic(Struct):
    name: String = ""
    partitions: list[OffsetCommitResponsePartition] = []


@struct
class OffsetCommitResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("3+")] = 0
    topics: list[OffsetCommitResponseTopic] = []


OFFSET_COMMIT = api(8, "OffsetCommit", OffsetCommitRequest, OffsetCommitResponse, versions="0-9", flexible="8+")

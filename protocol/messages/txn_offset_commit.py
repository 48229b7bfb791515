"""TxnOffsetCommit (key 28): commit a group's offsets inside a transaction. Versions 0-4, flexible 3+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int16, Int32, Int64, String, Struct, V, struct


@struct
class TxnOffsetCommitRequestPartition(Struct):
    partition_index: Int32 = 0
    committed_offset: Int64 = 0
    committed_leader_epoch: Annotated[Int32, V("2+")] = -1
    committed_metadata: String | None = ""


@struct
class TxnOffsetCommitRequestTopic(Struct):
    name: String = ""
    partitions: list[TxnOffsetCommitRequestPartition] = []


@struct
class TxnOffsetCommitRequest(Struct):
    transactional_id: String = ""
    group_id: String = ""
    producer_id: Int64 = 0
    producer_epoch: Int16 = 0
    generation_id: Annotated[Int32, V("3+")] = -1
    member_id: Annotated[String, V("3+")] = ""
    group_instance_id: Annotated[String | None, V("3+")] = None
    topics: list[TxnOffsetCommitRequestTopic] = []


@struct
class TxnOffsetCommitResponsePartition(Struct):
    partition_index: Int32 = 0
    error_code: Int16 = 0


@struct
class TxnOffsetCommitResponseTopic(Struct):
    name: String = ""
    partitions: list[TxnOffsetCommitResponsePartition] = []


@struct
class TxnOffsetCommitResponse(Struct):
    throttle_time_ms: Int32 = 0
    topics: list[TxnOffsetCommitResponseTopic] = []


TXN_OFFSET_COMMIT = api(
    28, "TxnOffsetCommit", TxnOffsetCommitRequest, TxnOffsetCommitResponse, versions="0-4", flexible="3+"
)

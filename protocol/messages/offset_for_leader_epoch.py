"""OffsetForLeaderEpoch (key 23): the end offset of a leader epoch. Versions 0-4, flexible 4+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int16, Int32, Int64, String, Struct, V, struct


@struct
class OffsetForLeaderPartition(Struct):
    partition: Int32 = 0
    current_leader_epoch: Annotated[Int32, V("2+")] = -1
    leader_epoch: Int32 = 0


@struct
class OffsetForLeaderTopic(Struct):
    topic: String = ""
    partitions: list[OffsetForLeaderPartition] = []


@struct
class OffsetForLeaderEpochRequest(Struct):
    replica_id: Annotated[Int32, V("3+")] = -2  # the follower's broker id; -1 for a consumer
    topics: list[OffsetForLeaderTopic] = []


@struct
class EpochEndOffset(Struct):
    error_code: Int16 = 0
    partition: Int32 = 0
    leader_epoch: Annotated[Int32, V("1+")] = -1
    end_offset: Int64 = -1


@struct
class OffsetForLeaderTopicResult(Struct):
    topic: String = ""
    partitions: list[EpochEndOffset] = []


@struct
class OffsetForLeaderEpochResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("2+")] = 0
    topics: list[OffsetForLeaderTopicResult] = []


OFFSET_FOR_LEADER_EPOCH = api(
    23,
    "OffsetForLeaderEpoch",
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
    versions="0-4",
    flexible="4+",
)

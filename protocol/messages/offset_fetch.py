"""OffsetFetch (key 9): the offsets a consumer group has committed. Versions 0-9, flexible 6+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Bool, Int16, Int32, Int64, String, Struct, V, struct


# Versions 0-7 ask about one group (top-level group_id and topics), versions 8+ about many (groups).
@struct
class OffsetFetchRequestTopic(Struct):
    name: Annotated[String, V("0-7")] = ""
    partition_indexes: Annotated[list[Int32], V("0-7")] = []


@struct
class OffsetFetchRequestTopics(Struct):
    name: Annotated[String, V("8+")] = ""
    partition_indexes: Annotated[list[Int32], V("8+")] = []


@struct
class OffsetFetchRequestGroup(Struct):
    group_id: Annotated[String, V("8+")] = ""
    member_id: Annotated[String | None, V("9+")] = None
    member_epoch: Annotated[Int32, V("9+")] = -1
    topics: Annotated[list[OffsetFetchRequestTopics] | None, V("8+")] = []  # null: every topic


@struct
class OffsetFetchRequest(Struct):
    group_id: Annotated[String, V("0-7")] = ""
    topics: Annotated[list[OffsetFetchRequestTopic] | None, V("0-7", nullable="2-7")] = []  # null: every topic
    groups: Annotated[list[OffsetFetchRequestGroup], V("8+")] = []
    require_stable: Annotated[Bool, V("7+")] = False


@struct
class OffsetFetchResponsePartition(Struct):
    partition_index: Annotated[Int32, V("0-7")] = 0
    committed_offset: Annotated[Int64, V("0-7")] = 0
    committed_leader_epoch: Annotated[Int32, V("5-7")] = -1
    metadata: Annotated[String | None, V("0-7")] = ""
    error_code: Annotated[Int16, V("0-7")] = 0


@struct
class OffsetFetchResponseTopic(Struct):
    name: Annotated[String, V("0-7")] = ""
    partitions: Annotated[list[OffsetFetchResponsePartition], V("0-7")] = []


@struct
class OffsetFetchResponsePartitions(Struct):
    partition_index: Annotated[Int32, V("8+")] = 0
    committed_offset: Annotated[Int64, V("8+")] = 0
    committed_leader_epoch: Annotated[Int32, V("8+")] = -1
    metadata: Annotated[String | None, V("8+")] = ""
    error_code: Annotated[Int16, V("8+")] = 0


@struct
class OffsetFetchResponseTopics(Struct):
    name: Annotated[String, V("8+")] = ""
    partitions: Annotated[list[OffsetFetchResponsePartitions], V("8+")] = []


@struct
class OffsetFetchResponseGroup(Struct):
    group_id: Annotated[String, V("8+")] = ""
    topics: Annotated[list[OffsetFetchResponseTopics], V("8+")] = []
    error_code: Annotated[Int16, V("8+")] = 0


@struct
class OffsetFetchResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("3+")] = 0
    topics: Annotated[list[OffsetFetchResponseTopic], V("0-7")] = []
    error_code: Annotated[Int16, V("2-7")] = 0
    groups: Annotated[list[OffsetFetchResponseGroup], V("8+")] = []


OFFSET_FETCH = api(9, "OffsetFetch", OffsetFetchRequest, OffsetFetchResponse, versions="0-9", flexible="6+")

"""ElectLeaders (key 43): run preferred or unclean leader elections. Versions 0-2, flexible 2+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int8, Int16, Int32, String, Struct, V, struct


@struct
class TopicPartitions(Struct):
    topic: String = ""
    partitions: list[Int32] = []


@struct
class ElectLeadersRequest(Struct):
    election_type: Annotated[Int8, V("1+")] = 0  # 0 preferred, 1 unclean
    topic_partitions: list[TopicPartitions] | None = []  # null: every partition
    timeout_ms: Int32 = 60000


@struct
class PartitionResult(Struct):
    partition_id: Int32 = 0
    error_code: Int16 = 0
    error_message: String | None = ""


@struct
class ReplicaElectionResult(Struct):
    topic: String = ""
    partition_result: list[PartitionResult] = []


@struct
class ElectLeadersResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Annotated[Int16, V("1+")] = 0
    replica_election_results: list[ReplicaElectionResult] = []


ELECT_LEADERS = api(
    43,
    "ElectLeaders",
    ElectLeadersRequest,
    ElectLeadersResponse,
    versions="0-2",
    flexible="2+",
)

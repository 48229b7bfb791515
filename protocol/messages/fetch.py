"""Fetch (key 1): read record batches, for consumers and followers. Versions 0-17, flexible 12+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import ZERO_UUID, Int8, Int16, Int32, Int64, Records, String, Struct, Uuid, V, struct


@struct
class ReplicaState(Struct):
    replica_id: Annotated[Int32, V("15+")] = -1
    replica_epoch: Annotated[Int64, V("15+")] = -1


@struct
class FetchPartition(Struct):
    partition: Int32 = 0
    current_leader_epoch: Annotated[Int32, V("9+")] = -1
    fetch_offset: Int64 = 0
    last_fetched_epoch: Annotated[Int32, V("12+")] = -1
    log_start_offset: Annotated[Int64, V("5+")] = -1
    partition_max_bytes: Int32 = 0
    replica_directory_id: Annotated[Uuid, V("17+", tag=0)] = ZERO_UUID


@struct
class FetchTopic(Struct):
    topic: Annotated[String, V("0-12")] = ""
    topic_id: Annotated[Uuid, V("13+")] = ZERO_UUID
    partitions: list[FetchPartition] = []


@struct
class ForgottenTopic(Struct):
    topic: Annotated[String, V("7-12")] = ""
    topic_id: Annotated[Uuid, V("13+")] = ZERO_UUID
    partitions: Annotated[list[Int32], V("7+")] = []


@struct
class FetchRequest(Struct):
    cluster_id: Annotated[String | None, V("12+", tag=0)] = None
    replica_id: Annotated[Int32, V("0-14")] = -1  # a follower's id; -1 for consumers
    replica_state: Annotated[ReplicaState, V("15+", tag=1)] = ReplicaState()
    max_wait_ms: Int32 = 0
    min_bytes: Int32 = 0
    max_bytes: Annotated[Int32, V("3+")] = 0x7FFFFFFF
    isolation_level: Annotated[Int8, V("4+")] = 0
    session_id: Annotated[Int32, V("7+")] = 0
    session_epoch: Annotated[Int32, V("7+")] = -1
    topics: list[FetchTopic] = []
    forgotten_topics_data: Annotated[list[ForgottenTopic], V("7+")] = []
    rack_id: Annotated[String, V("11+")] = ""


@struct
class EpochEndOffset(Struct):
    epoch: Annotated[Int32, V("12+")] = -1
    end_offset: Annotated[Int64, V("12+")] = -1


@struct
class LeaderIdAndEpoch(Struct):
    leader_id: Annotated[Int32, V("12+")] = -1
    leader_epoch: Annotated[Int32, V("12+")] = -1


@struct
class SnapshotId(Struct):
    end_offset: Int64 = -1
    epoch: Int32 = -1


@struct
class AbortedTransaction(Struct):
    producer_id: Annotated[Int64, V("4+")] = 0
    first_offset: Annotated[Int64, V("4+")] = 0


@struct
class PartitionData(Struct):
    partition_index: Int32 = 0
    error_code: Int16 = 0
    high_watermark: Int64 = 0
    last_stable_offset: Annotated[Int64, V("4+")] = -1
    log_start_offset: Annotated[Int64, V("5+")] = -1
    diverging_epoch: Annotated[EpochEndOffset, V("12+", tag=0)] = EpochEndOffset()
    current_leader: Annotated[LeaderIdAndEpoch, V("12+", tag=1)] = LeaderIdAndEpoch()
    snapshot_id: Annotated[SnapshotId, V("12+", tag=2)] = SnapshotId()
    aborted_transactions: Annotated[list[AbortedTransaction] | None, V("4+")] = []
    preferred_read_replica: Annotated[Int32, V("11+")] = -1
    records: Records | None = None


@struct
class FetchableTopicResponse(Struct):
    topic: Annotated[String, V("0-12")] = ""
    topic_id: Annotated[Uuid, V("13+")] = ZERO_UUID
    partitions: list[PartitionData] = []


@struct
class NodeEndpoint(Struct):
    node_id: Annotated[Int32, V("16+")] = 0
    host: Annotated[String, V("16+")] = ""
    port: Annotated[Int32, V("16+")] = 0
    rack: Annotated[String | None, V("16+")] = None


@struct
class FetchResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("1+")] = 0
    error_code: Annotated[Int16, V("7+")] = 0
    session_id: Annotated[Int32, V("7+")] = 0
    responses: list[FetchableTopicResponse] = []
    node_endpoints: Annotated[list[NodeEndpoint], V("16+", tag=0)] = []


FETCH = api(1, "Fetch", FetchRequest, FetchResponse, versions="0-17", flexible="12+")

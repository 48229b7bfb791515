"""StopReplica (key 5): a ZooKeeper-era controller stops or deletes replicas. Versions 0-4, flexible 2+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Bool, Int16, Int32, Int64, String, Struct, V, struct


@struct
class StopReplicaPartitionV0(Struct):
    topic_name: Annotated[String, V("0")] = ""
    partition_index: Annotated[Int32, V("0")] = 0


@struct
class StopReplicaTopicV1(Struct):
    name: Annotated[String, V("1-2")] = ""
    partition_indexes: Annotated[list[Int32], V("1-2")] = []


@struct
class StopReplicaPartitionState(Struct):
    partition_index: Annotated[Int32, V("3+")] = 0
    leader_epoch: Annotated[Int32, V("3+")] = -1
    delete_partition: Annotated[Bool, V("3+")] = False


@struct
class StopReplicaTopicState(Struct):
    topic_name: Annotated[String, V("3+")] = ""
    partition_states: Annotated[list[StopReplicaPartitionState], V("3+")] = []


@struct
class StopReplicaRequest(Struct):
    controller_id: Int32 = 0
    is_k_raft_controller: Annotated[Bool, V("4+")] = False
    controller_epoch: Int32 = 0
    broker_epoch: Annotated[Int64, V("1+")] = -1
    delete_partitions: Annotated[Bool, V("0-2")] = False
    ungrouped_partitions: Annotated[list[StopReplicaPartitionV0], V("0")] = []
    topics: Annotated[list[StopReplicaTopicV1], V("1-2")] = []
    topic_states: Annotated[list[StopReplicaTopicState], V("3+")] = []


@struct
class StopReplicaPartitionError(Struct):
    topic_name: String = ""
    partition_index: Int32 = 0
    error_code: Int16 = 0


@struct
class StopReplicaResponse(Struct):
    error_code: Int16 = 0
    partition_errors: list[StopReplicaPartitionError] = []


STOP_REPLICA = api(5, "StopReplica", StopReplicaRequest, StopReplicaResponse, versions="0-4", flexible="2+")

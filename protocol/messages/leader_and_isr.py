"""LeaderAndIsr (key 4): a ZooKeeper-era controller sets leaders and ISRs. Versions 0-7, flexible 4+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import ZERO_UUID, Bool, Int8, Int16, Int32, Int64, String, Struct, Uuid, V, struct


@struct
class LeaderAndIsrPartitionState(Struct):
    # v0-1 carry the topic name in each (ungrouped) partition state; v2+ group them by topic.
    topic_name: Annotated[String, V("0-1")] = ""
    partition_index: Int32 = 0
    controller_epoch: Int32 = 0
    leader: Int32 = 0
    leader_epoch: Int32 = 0
    isr: list[Int32] = []
    partition_epoch: Int32 = 0  # the ZooKeeper version of the partition state
    replicas: list[Int32] = []
    adding_replicas: Annotated[list[Int32], V("3+")] = []
    removing_replicas: Annotated[list[Int32], V("3+")] = []
    is_new: Annotated[Bool, V("1+")] = False
    leader_recovery_state: Annotated[Int8, V("6+")] = 0


@struct
class LeaderAndIsrTopicState(Struct):
    topic_name: Annotated[String, V("2+")] = ""
    topic_id: Annotated[Uuid, V("5+")] = ZERO_UUID
    partition_states: Annotated[list[LeaderAndIsrPartitionState], V("2+")] = []


@struct
class LeaderAndIsrLiveLeader(Struct):
    broker_id: Int32 = 0
    host_name: String = ""
    port: Int32 = 0


@struct
class LeaderAndIsrRequest(Struct):
    controller_id: Int32 = 0
    is_k_raft_controller: Annotated[Bool, V("7+")] = False
    controller_epoch: Int32 = 0
    broker_epoch: Annotated[Int64, V("2+")] = -1
    type: Annotated[Int8, V("5+")] = 0  # whether the request carries all topics
    ungrouped_partition_states: Annotated[list[LeaderAndIsrPartitionState], V("0-1")] = []
    topic_states: Annotated[list[LeaderAndIsrTopicState], V("2+")] = []
    live_leaders: list[LeaderAndIsrLiveLeader] = []


@struct
class LeaderAndIsrPartitionError(Struct):
    topic_name: Annotated[String, V("0-4")] = ""
    partition_index: Int32 = 0
    error_code: Int16 = 0


@struct
class LeaderAndIsrTopicError(Struct):
    topic_id: Annotated[Uuid, V("5+")] = ZERO_UUID
    partition_errors: Annotated[list[LeaderAndIsrPartitionError], V("5+")] = []


@struct
class LeaderAndIsrResponse(Struct):
    error_code: Int16 = 0
    partition_errors: Annotated[list[LeaderAndIsrPartitionError], V("0-4")] = []
    topics: Annotated[list[LeaderAndIsrTopicError], V("5+")] = []


LEADER_AND_ISR = api(4, "LeaderAndIsr", LeaderAndIsrRequest, LeaderAndIsrResponse, versions="0-7", flexible="4+")

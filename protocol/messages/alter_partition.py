"""AlterPartition (key 56, Kafka 2.7's AlterIsr, KIP-497/KIP-841): a partition leader asks the controller to
change its ISR. Versions 0-3, flexible 0+.

v1 adds the leader recovery state (KIP-704); v2 names topics by id instead of name and brings the errors
INELIGIBLE_REPLICA, NEW_LEADER_ELECTED and UNKNOWN_TOPIC_ID (KIP-841); v3 sends the new ISR with each
member's broker epoch (KIP-903) instead of bare ids. The response of v3 is v2's.
"""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import ZERO_UUID, Int8, Int16, Int32, Int64, String, Struct, Uuid, V, struct


@struct
class AlterPartitionBrokerState(Struct):
    broker_id: Annotated[Int32, V("3+")] = 0
    broker_epoch: Annotated[Int64, V("3+")] = -1  # -1: no epoch check


@struct
class AlterPartitionRequestPartition(Struct):
    partition_index: Int32 = 0
    leader_epoch: Int32 = 0
    new_isr: Annotated[list[Int32], V("0-2")] = []
    new_isr_with_epochs: Annotated[list[AlterPartitionBrokerState], V("3+")] = []
    leader_recovery_state: Annotated[Int8, V("1+")] = 0
    partition_epoch: Int32 = 0  # the expected epoch: in ZooKeeper mode the state znode's version


@struct
class AlterPartitionRequestTopic(Struct):
    topic_name: Annotated[String, V("0-1")] = ""
    topic_id: Annotated[Uuid, V("2+")] = ZERO_UUID
    partitions: list[AlterPartitionRequestPartition] = []


@struct
class AlterPartitionRequest(Struct):
    broker_id: Int32 = 0
    broker_epoch: Int64 = -1
    topics: list[AlterPartitionRequestTopic] = []


@struct
class AlterPartitionResponsePartition(Struct):
    partition_index: Int32 = 0
    error_code: Int16 = 0
    leader_id: Int32 = 0
    leader_epoch: Int32 = 0
    isr: list[Int32] = []
    leader_recovery_state: Annotated[Int8, V("1+")] = 0
    partition_epoch: Int32 = 0


@struct
class AlterPartitionResponseTopic(Struct):
    topic_name: Annotated[String, V("0-1")] = ""
    topic_id: Annotated[Uuid, V("2+")] = ZERO_UUID
    partitions: list[AlterPartitionResponsePartition] = []


@struct
class AlterPartitionResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Int16 = 0
    topics: list[AlterPartitionResponseTopic] = []


ALTER_PARTITION = api(
    56, "AlterPartition", AlterPartitionRequest, AlterPartitionResponse, versions="0-3", flexible="0+"
)

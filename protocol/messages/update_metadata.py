"""UpdateMetadata (key 6): a ZooKeeper-era controller pushes metadata. Versions 0-8, flexible 6+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import ZERO_UUID, Bool, Int8, Int16, Int32, Int64, String, Struct, Uuid, V, struct


@struct
class UpdateMetadataPartitionState(Struct):
    # v0-4 carry the topic name in each (ungrouped) partition state; v5+ group them by topic.
    topic_name: Annotated[String, V("0-4")] = ""
    partition_index: Int32 = 0
    controller_epoch: Int32 = 0
    leader: Int32 = 0
    leader_epoch: Int32 = 0
    isr: list[Int32] = []
    zk_version: Int32 = 0
    replicas: list[Int32] = []
    offline_replicas: Annotated[list[Int32], V("4+")] = []


@struct
class UpdateMetadataTopicState(Struct):
    topic_name: Annotated[String, V("5+")] = ""
    topic_id: Annotated[Uuid, V("7+")] = ZERO_UUID
    partition_states: Annotated[list[UpdateMetadataPartitionState], V("5+")] = []


@struct
class UpdateMetadataEndpoint(Struct):
    port: Annotated[Int32, V("1+")] = 0
    host: Annotated[String, V("1+")] = ""
    listener: Annotated[String, V("3+")] = ""
    security_protocol: Annotated[Int16, V("1+")] = 0


@struct
class UpdateMetadataBroker(Struct):
    id: Int32 = 0
    v0_host: Annotated[String, V("0")] = ""
    v0_port: Annotated[Int32, V("0")] = 0
    endpoints: Annotated[list[UpdateMetadataEndpoint], V("1+")] = []
    rack: Annotated[String | None, V("2+")] = ""


@struct
class UpdateMetadataRequest(Struct):
    controller_id: Int32 = 0
    is_k_raft_controller: Annotated[Bool, V("8+")] = False
    type: Annotated[Int8, V("8+", tag=0)] = 0  # 0 unknown, 1 incremental, 2 full snapshot (KIP-866)
    controller_epoch: Int32 = 0
    broker_epoch: Annotated[Int64, V("5+")] = -1
    ungrouped_partition_states: Annotated[list[UpdateMetadataPartitionState], V("0-4")] = []
    topic_states: Annotated[list[UpdateMetadataTopicState], V("5+")] = []
    live_brokers: list[UpdateMetadataBroker] = []


@struct
class UpdateMetadataResponse(Struct):
    error_code: Int16 = 0


UPDATE_METADATA = api(6, "UpdateMetadata", UpdateMetadataRequest, UpdateMetadataResponse, versions="0-8", flexible="6+")

"""Metadata (key 3): brokers, topics and partition leaders. Versions 0-12, flexible 9+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import ZERO_UUID, Bool, Int16, Int32, String, Struct, Uuid, V, struct


@struct
class MetadataRequestTopic(Struct):
    topic_id: Annotated[Uuid, V("10+")] = ZERO_UUID
    name: Annotated[String | None, V(nullable="10+")] = ""


@struct
class MetadataRequest(Struct):
    topics: Annotated[list[MetadataRequestTopic] | None, V(nullable="1+")] = []
    allow_auto_topic_creation: Annotated[Bool, V("4+")] = True
    include_cluster_authorized_operations: Annotated[Bool, V("8-10")] = False
    include_topic_authorized_operations: Annotated[Bool, V("8+")] = False


@struct
class MetadataResponseBroker(Struct):
    node_id: Int32 = 0
    host: String = ""
    port: Int32 = 0
    rack: Annotated[String | None, V("1+")] = None


@struct
class MetadataResponsePartition(Struct):
    error_code: Int16 = 0
    partition_index: Int32 = 0
    leader_id: Int32 = 0
    leader_epoch: Annotated[Int32, V("7+")] = -1
    replica_nodes: list[Int32] = []
    isr_nodes: list[Int32] = []
    offline_replicas: Annotated[list[Int32], V("5+")] = []


@struct
class MetadataResponseTopic(Struct):
    error_code: Int16 = 0
    name: Annotated[String | None, V(nullable="12+")] = ""
    topic_id: Annotated[Uuid, V("10+")] = ZERO_UUID
    is_internal: Annotated[Bool, V("1+")] = False
    partitions: list[MetadataResponsePartition] = []
    topic_authorized_operations: Annotated[Int32, V("8+")] = -2147483648


@struct
class MetadataResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("3+")] = 0
    brokers: list[MetadataResponseBroker] = []
    cluster_id: Annotated[String | None, V("2+")] = None
    controller_id: Annotated[Int32, V("1+")] = -1
    topics: list[MetadataResponseTopic] = []
    cluster_authorized_operations: Annotated[Int32, V("8-10")] = -2147483648


METADATA = api(3, "Metadata", MetadataRequest, MetadataResponse, versions="0-12", flexible="9+")

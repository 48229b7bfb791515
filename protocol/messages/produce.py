"""Produce (key 0): append record batches to partitions. Versions 0-11, flexible 9+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Int16, Int32, Int64, Records, String, Struct, V, struct


@struct
class PartitionProduceData(Struct):
    index: Int32 = 0
    records: Records | None = None


@struct
class TopicProduceData(Struct):
    name: String = ""
    partition_data: list[PartitionProduceData] = []


@struct
class ProduceRequest(Struct):
    transactional_id: Annotated[String | None, V("3+")] = None
    acks: Int16 = 0
    timeout_ms: Int32 = 0
    topic_data: list[TopicProduceData] = []


@struct
class BatchIndexAndErrorMessage(Struct):
    batch_index: Annotated[Int32, V("8+")] = 0
    batch_index_error_message: Annotated[String | None, V("8+")] = None


@struct
class LeaderIdAndEpoch(Struct):
    leader_id: Annotated[Int32, V("10+")] = -1
    leader_epoch: Annotated[Int32, V("10+")] = -1


@struct
class PartitionProduceResponse(Struct):
    index: Int32 = 0
    error_code: Int16 = 0
    base_offset: Int64 = 0
    log_append_time_ms: Annotated[Int64, V("2+")] = -1
    log_start_offset: Annotated[Int64, V("5+")] = -1
    record_errors: Annotated[list[BatchIndexAndErrorMessage], V("8+")] = []
    error_message: Annotated[String | None, V("8+")] = None
    current_leader: Annotated[LeaderIdAndEpoch, V("10+", tag=0)] = LeaderIdAndEpoch()


@struct
class TopicProduceResponse(Struct):
    name: String = ""
    partition_responses: list[PartitionProduceResponse] = []


@struct
class NodeEndpoint(Struct):
    node_id: Annotated[Int32, V("10+")] = 0
    host: Annotated[String, V("10+")] = ""
    port: Annotated[Int32, V("10+")] = 0
    rack: Annotated[String | None, V("10+")] = None


@struct
class ProduceResponse(Struct):
    responses: list[TopicProduceResponse] = []
    throttle_time_ms: Annotated[Int32, V("1+")] = 0
    node_endpoints: Annotated[list[NodeEndpoint], V("10+", tag=0)] = []


PRODUCE = api(0, "Produce", ProduceRequest, ProduceResponse, versions="0-11", flexible="9+")

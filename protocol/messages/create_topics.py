"""CreateTopics (key 19): create topics with their partitions and configs. Versions 0-7, flexible 5+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import ZERO_UUID, Bool, Int8, Int16, Int32, String, Struct, Uuid, V, struct


@struct
class CreatableReplicaAssignment(Struct):
    partition_index: Int32 = 0
    broker_ids: list[Int32] = []


@struct
class CreatableTopicConfig(Struct):
    name: String = ""
    value: String | None = ""


@struct
class CreatableTopic(Struct):
    name: String = ""
    num_partitions: Int32 = 0  # -1: the broker's default
    replication_factor: Int16 = 0  # -1: the broker's default
    assignments: list[CreatableReplicaAssignment] = []
    configs: list[CreatableTopicConfig] = []


@struct
class CreateTopicsRequest(Struct):
    topics: list[CreatableTopic] = []
    timeout_ms: Int32 = 60000
    validate_only: Annotated[Bool, V("1+")] = False


@struct
class CreatableTopicConfigs(Struct):
    name: Annotated[String, V("5+")] = ""
    value: Annotated[String | None, V("5+")] = ""
    read_only: Annotated[Bool, V("5+")] = False
    config_source: Annotated[Int8, V("5+")] = -1
    is_sensitive: Annotated[Bool, V("5+")] = False


@struct
class CreatableTopicResult(Struct):
    name: String = ""
    topic_id: Annotated[Uuid, V("7+")] = ZERO_UUID
    error_code: Int16 = 0
    error_message: Annotated[String | None, V("1+")] = ""
    topic_config_error_code: Annotated[Int16, V("5+", tag=0)] = 0
    num_partitions: Annotated[Int32, V("5+")] = -1
    replication_factor: Annotated[Int16, V("5+")] = -1
    configs: Annotated[list[CreatableTopicConfigs] | None, V("5+")] = []


@struct
class CreateTopicsResponse(Struct):
    throttle_time_ms: Annotated[Int32, V("2+")] = 0
    topics: list[CreatableTopicResult] = []


CREATE_TOPICS = api(
    19,
    "CreateTopics",
    CreateTopicsRequest,
    CreateTopicsResponse,
    versions="0-7",
    flexible="5+",
)

"""DescribeTopicPartitions (key 75): topics' partitions, paged by a cursor. Versions 0-0, flexible 0+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import ZERO_UUID, Bool, Int16, Int32, String, Struct, Uuid, struct


@struct
class TopicRequest(Struct):
    name: String = ""


@struct
class Cursor(Struct):
    topic_name: String = ""
    partition_index: Int32 = 0


@struct
class DescribeTopicPartitionsRequest(Struct):
    topics: list[TopicRequest] = []
    response_partition_limit: Int32 = 2000
    cursor: Cursor | None = None


@struct
class DescribeTopicPartitionsResponsePartition(Struct):
    error_code: Int16 = 0
    partition_index: Int32 = 0
    leader_id: Int32 = 0
    leader_epoch: Int32 = -1
    replica_nodes: list[Int32] = []
    isr_nodes: list[Int32] = []
    eligible_leader_replicas: list[Int32] | None = None
    last_known_elr: list[Int32] | None = None
    offline_replicas: list[Int32] = []


@struct
class DescribeTopicPartitionsResponseTopic(Struct):
    error_code: Int16 = 0
    name: String | None = ""
    topic_id: Uuid = ZERO_UUID
    is_internal: Bool = False
    partitions: list[DescribeTopicPartitionsResponsePartition] = []
    topic_authorized_operations: Int32 = -2147483648


@struct
class DescribeTopicPartitionsResponse(Struct):
    throttle_time_ms: Int32 = 0
    topics: list[DescribeTopicPartitionsResponseTopic] = []
    next_cursor: Cursor | None = None


DESCRIBE_TOPIC_PARTITIONS = api(
    75,
    "DescribeTopicPartitions",
    DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse,
    versions="0-0",
    flexible="0+",
)

"""ConsumerGroupHeartbeat (key 68): a KIP-848 consumer joins and gets its assignment. Versions 0-1, flexible 0+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import ZERO_UUID, Int16, Int32, String, Struct, Uuid, V, struct


@struct
class TopicPartitions(Struct):
    topic_id: Uuid = ZERO_UUID
    partitions: list[Int32] = []


@struct
class ConsumerGroupHeartbeatRequest(Struct):
    group_id: String = ""
    member_id: String = ""
    member_epoch: Int32 = 0
    instance_id: String | None = None
    rack_id: String | None = None
    rebalance_timeout_ms: Int32 = -1
    # The nullable fields below are null when unchanged since the last heartbeat.
    subscribed_topic_names: list[String] | None = None
    subscribed_topic_regex: Annotated[String | None, V("1+")] = None
    server_assignor: String | None = None
    topic_partitions: list[TopicPartitions] | None = None  # the partitions the member owns


@struct
class Assignment(Struct):
    topic_partitions: list[TopicPartitions] = []


@struct
class ConsumerGroupHeartbeatResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Int16 = 0
    error_message: String | None = None
    member_id: String | None = None
    member_epoch: Int32 = 0
    heartbeat_interval_ms: Int32 = 0
    assignment: Assignment | None = None  # null when unchanged


CONSUMER_GROUP_HEARTBEAT = api(
    68,
    "ConsumerGroupHeartbeat",
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
    versions="0-1",
    flexible="0+",
)

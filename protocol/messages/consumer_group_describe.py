"""ConsumerGroupDescribe (key 69): state, members and assignments of KIP-848 groups. Versions 0, flexible 0+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import ZERO_UUID, Bool, Int16, Int32, String, Struct, Uuid, struct


@struct
class ConsumerGroupDescribeRequest(Struct):
    group_ids: list[String] = []
    include_authorized_operations: Bool = False


@struct
class TopicPartitions(Struct):
    topic_id: Uuid = ZERO_UUID
    topic_name: String = ""
    partitions: list[Int32] = []


@struct
class Assignment(Struct):
    topic_partitions: list[TopicPartitions] = []


@struct
class Member(Struct):
    member_id: String = ""
    instance_id: String | None = None
    rack_id: String | None = None
    member_epoch: Int32 = 0
    client_id: String = ""
    client_host: String = ""
    subscribed_topic_names: list[String] = []
    subscribed_topic_regex: String | None = None
    assignment: Assignment = Assignment()
    target_assignment: Assignment = Assignment()


@struct
class DescribedGroup(Struct):
    error_code: Int16 = 0
    error_message: String | None = None
    group_id: String = ""
    group_state: String = ""
    group_epoch: Int32 = 0
    assignment_epoch: Int32 = 0
    assignor_name: String = ""
    members: list[Member] = []
    authorized_operations: Int32 = -2147483648


@struct
class ConsumerGroupDescribeResponse(Struct):
    throttle_time_ms: Int32 = 0
    groups: list[DescribedGroup] = []


CONSUMER_GROUP_DESCRIBE = api(
    69,
    "ConsumerGroupDescribe",
    ConsumerGroupDescribeRequest,
    ConsumerGroupDescribeResponse,
    versions="0",
    flexible="0+",
)

"""KIP-848 APIs on a raw socket: ConsumerGroupHeartbeat's error paths, ConsumerGroupDescribe, and the
group and offset APIs seeing consumer groups (ListGroups types, OffsetCommit/OffsetFetch member epochs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from protocol.errors import ErrorCode as E
from protocol.messages.consumer_group_describe import ConsumerGroupDescribeRequest
from protocol.messages.consumer_group_heartbeat import ConsumerGroupHeartbeatRequest, TopicPartitions
from protocol.messages.describe_groups import DescribeGroupsRequest
from protocol.messages.list_groups import ListGroupsRequest
from protocol.messages.offset_commit import OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic
from protocol.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestGroup
from tests.broker.test_groups_raw import join
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

HEARTBEAT, DESCRIBE, DESCRIBE_GROUPS, LIST, COMMIT, FETCH = 68, 69, 15, 16, 8, 9


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    overrides = {"offsets.topic.num.partitions": "3", "group.initial.rebalance.delay.ms": "0"}
    with BrokerProcess(tmp_path_factory.mktemp("raw-kip848"), overrides) as process:
        admin = KafkaAdminClient(bootstrap_servers=process.bootstrap)
        admin.create_topics([NewTopic("cg", 4, 1)])
        admin.close()
        yield process


@pytest.fixture
def client(broker: BrokerProcess) -> Iterator[RawClient]:
    c = RawClient(broker)
    yield c
    c.sock.close()


def beat(client: RawClient, group: str, member: str, epoch: int, version: int = 1, **fields: Any) -> Any:
    if epoch == 0:
        fields = {"rebalance_timeout_ms": 5000, "subscribed_topic_names": ["cg"], "topic_partitions": [], **fields}
    request = ConsumerGroupHeartbeatRequest(group_id=group, member_id=member, member_epoch=epoch, **fields)
    return client.request(HEARTBEAT, version, request)


def test_join_heartbeat_describe_and_leave(client: RawClient) -> None:
    joined = beat(client, "raw-cg", "member-1", 0)
    assert (joined.error_code, joined.member_id, joined.member_epoch) == (E.NONE, "member-1", 1)
    assert joined.heartbeat_interval_ms == 5000  # group.consumer.heartbeat.interval.ms
    [owned] = joined.assignment.topic_partitions
    assert sorted(owned.partitions) == [0, 1, 2, 3]
    again = beat(
        client,
        "raw-cg",
        "member-1",
        1,
        topic_partitions=[TopicPartitions(topic_id=owned.topic_id, partitions=[0, 1, 2, 3])],
    )
    assert (again.error_code, again.member_epoch, again.assignment) == (E.NONE, 1, None)  # unchanged: no assignment

    described = client.request(DESCRIBE, 0, ConsumerGroupDescribeRequest(group_ids=["raw-cg", "nope"])).groups
    assert (described[0].group_state, described[0].group_epoch, described[0].assignor_name) == ("Stable", 1, "uniform")
    [m] = described[0].members
    assert (m.member_id, m.member_epoch, m.client_id, m.subscribed_topic_names) == ("member-1", 1, "raw", ["cg"])
    assert m.assignment.topic_partitions[0].topic_name == "cg"
    assert sorted(m.target_assignment.topic_partitions[0].partitions) == [0, 1, 2, 3]
    assert described[1].error_code == E.GROUP_ID_NOT_FOUND

    listed = client.request(LIST, 5, ListGroupsRequest(types_filter=["consumer"])).groups
    assert [(g.group_id, g.protocol_type, g.group_state, g.group_type) for g in listed if g.group_id == "raw-cg"] == [
        ("raw-cg", "consumer", "Stable", "consumer")
    ]
    assert not [g for g in client.request(LIST, 5, ListGroupsRequest(types_filter=["classic"])).groups
                if g.group_id == "raw-cg"]  # fmt: skip
    # DescribeGroups (v0-5) knows classic groups only: a consumer group is Dead there, as in Kafka.
    classic_view = client.request(DESCRIBE_GROUPS, 5, DescribeGroupsRequest(groups=["raw-cg"])).groups[0]
    assert (classic_view.group_state, classic_view.members) == ("Dead", [])

    left = beat(client, "raw-cg", "member-1", -1)
    assert (left.error_code, left.member_epoch) == (E.NONE, -1)
    after = client.request(DESCRIBE, 0, ConsumerGroupDescribeRequest(group_ids=["raw-cg"])).groups[0]
    assert (after.group_state, after.group_epoch, after.members) == ("Empty", 2, [])


def test_heartbeat_errors(client: RawClient) -> None:
    assert beat(client, "raw-err", "m", 3).error_code == E.GROUP_ID_NOT_FOUND
    bad = beat(client, "raw-err", "m", 0, topic_partitions=None)
    assert (bad.error_code, bad.error_message) == (
        E.INVALID_REQUEST,
        "TopicPartitions must be empty when (re-)joining.",
    )
    assert beat(client, "raw-err", "", 0).error_code == E.INVALID_REQUEST  # v1: the client names itself
    v0 = beat(client, "raw-err", "", 0, version=0)
    assert v0.error_code == E.NONE and v0.member_id  # v0: the coordinator names it
    assert beat(client, "raw-err", "m", 0, server_assignor="sticky").error_code == E.UNSUPPORTED_ASSIGNOR
    assert beat(client, "raw-err", "m", 0, subscribed_topic_regex="[").error_code == E.INVALID_REGULAR_EXPRESSION
    assert beat(client, "raw-err", "stranger", 1).error_code == E.UNKNOWN_MEMBER_ID
    assert beat(client, "raw-err", v0.member_id, 9, version=0).error_code == E.FENCED_MEMBER_EPOCH
    # A classic group with members refuses consumer-protocol members.
    first = join(client, "raw-classic")
    join(client, "raw-classic", first.member_id)  # type: ignore[attr-defined]
    refused = beat(client, "raw-classic", "m", 0)
    assert (refused.error_code, refused.error_message) == (
        E.GROUP_ID_NOT_FOUND,
        "Group raw-classic is not a consumer group.",
    )


def test_offset_commit_and_fetch_check_member_epochs(client: RawClient) -> None:
    joined = beat(client, "raw-off", "m1", 0)
    assert joined.error_code == E.NONE

    def commit(member: str, epoch: int) -> int:
        request = OffsetCommitRequest(
            group_id="raw-off", generation_id_or_member_epoch=epoch, member_id=member,
            topics=[OffsetCommitRequestTopic(name="cg", partitions=[
                OffsetCommitRequestPartition(partition_index=0, committed_offset=7)])],
        )  # fmt: skip
        return int(client.request(COMMIT, 9, request).topics[0].partitions[0].error_code)

    assert commit("m1", 0) == E.STALE_MEMBER_EPOCH
    assert commit("other", 1) == E.UNKNOWN_MEMBER_ID
    assert commit("", -1) == E.UNKNOWN_MEMBER_ID  # not into a group with members
    assert commit("m1", 1) == E.NONE

    def fetch(member: str | None, epoch: int) -> Any:
        group = OffsetFetchRequestGroup(group_id="raw-off", member_id=member, member_epoch=epoch, topics=None)
        return client.request(FETCH, 9, OffsetFetchRequest(groups=[group])).groups[0]

    assert fetch("m1", 0).error_code == E.STALE_MEMBER_EPOCH
    assert fetch("zz", 1).error_code == E.UNKNOWN_MEMBER_ID
    for member, epoch in (("m1", 1), (None, -1)):
        found = fetch(member, epoch)
        assert found.error_code == E.NONE
        assert [(t.name, p.partition_index, p.committed_offset) for t in found.topics for p in t.partitions] == [
            ("cg", 0, 7)
        ]

"""Group and offset APIs on a raw socket with the project's codec: the errors bad input gets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from protocol.errors import ErrorCode as E
from protocol.messages._consumer_protocol import ConsumerProtocolSubscription, encode_subscription
from protocol.messages.describe_groups import DescribeGroupsRequest
from protocol.messages.find_coordinator import FindCoordinatorRequest
from protocol.messages.heartbeat import HeartbeatRequest
from protocol.messages.join_group import JoinGroupRequest, JoinGroupRequestProtocol
from protocol.messages.leave_group import LeaveGroupRequest, MemberIdentity
from protocol.messages.list_groups import ListGroupsRequest
from protocol.messages.offset_commit import OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic
from protocol.messages.offset_delete import OffsetDeleteRequest, OffsetDeleteRequestPartition, OffsetDeleteRequestTopic
from protocol.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestGroup
from protocol.messages.sync_group import SyncGroupRequest, SyncGroupRequestAssignment
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

FIND, JOIN, HEARTBEAT, LEAVE, SYNC, DESCRIBE, LIST, COMMIT, FETCH, DELETE_OFFSETS = 10, 11, 12, 13, 14, 15, 16, 8, 9, 47
SUB = encode_subscription(ConsumerProtocolSubscription(topics=["raw"]))


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    tmp: Path = tmp_path_factory.mktemp("raw-groups")
    overrides = {"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "3"}
    with BrokerProcess(tmp, overrides) as process:
        admin = KafkaAdminClient(bootstrap_servers=process.bootstrap)
        admin.create_topics([NewTopic("raw", 2, 1)])
        admin.close()
        yield process


def join(client: RawClient, group: str, member: str = "", session: int = 10000, metadata: bytes = SUB) -> object:
    request = JoinGroupRequest(
        group_id=group, session_timeout_ms=session, rebalance_timeout_ms=10000, member_id=member,
        protocol_type="consumer", protocols=[JoinGroupRequestProtocol(name="range", metadata=metadata)],
    )  # fmt: skip
    return client.request(JOIN, 7, request)


def member_of(client: RawClient, group: str, session: int = 10000) -> tuple[str, int]:
    """A member of a new group, synced: (member id, generation)."""
    first = join(client, group, session=session)
    assert first.error_code == E.MEMBER_ID_REQUIRED  # type: ignore[attr-defined]
    joined = join(client, group, first.member_id, session=session)  # type: ignore[attr-defined]
    assert joined.error_code == E.NONE  # type: ignore[attr-defined]
    member, generation = joined.member_id, joined.generation_id  # type: ignore[attr-defined]
    sync = SyncGroupRequest(group_id=group, generation_id=generation, member_id=member,
                            assignments=[SyncGroupRequestAssignment(member_id=member, assignment=b"x")])  # fmt: skip
    assert client.request(SYNC, 5, sync).error_code == E.NONE
    return member, generation


def commit(client: RawClient, group: str, member: str, generation: int, metadata: str = "", topic: str = "raw") -> int:
    request = OffsetCommitRequest(
        group_id=group, generation_id_or_member_epoch=generation, member_id=member,
        topics=[OffsetCommitRequestTopic(name=topic, partitions=[
            OffsetCommitRequestPartition(partition_index=0, committed_offset=1, committed_metadata=metadata)])],
    )  # fmt: skip
    return int(client.request(COMMIT, 8, request).topics[0].partitions[0].error_code)


def test_find_coordinator_key_types_and_batches(broker: BrokerProcess) -> None:
    client = RawClient(broker)
    one = client.request(FIND, 0, FindCoordinatorRequest(key="g"))
    assert one.error_code == E.NONE and (one.host, one.port) == ("127.0.0.1", broker.port)
    many = client.request(FIND, 4, FindCoordinatorRequest(key_type=0, coordinator_keys=["a", "b"]))
    assert [(c.key, c.error_code, c.port) for c in many.coordinators] == [("a", 0, broker.port), ("b", 0, broker.port)]
    txn = client.request(FIND, 4, FindCoordinatorRequest(key_type=1, coordinator_keys=["t"]))
    assert [(c.key, c.error_code, c.port) for c in txn.coordinators] == [("t", E.NONE, broker.port)]
    bad = client.request(FIND, 3, FindCoordinatorRequest(key="g", key_type=7))
    assert bad.error_code == E.INVALID_REQUEST


def test_generation_member_and_timeout_errors(broker: BrokerProcess) -> None:
    client = RawClient(broker)
    member, generation = member_of(client, "raw-checks")
    assert join(client, "raw-checks", session=10).error_code == E.INVALID_SESSION_TIMEOUT  # type: ignore[attr-defined]
    assert join(client, "raw-checks", session=10**9).error_code == E.INVALID_SESSION_TIMEOUT  # type: ignore[attr-defined]
    assert join(client, "raw-checks", "who?").error_code == E.UNKNOWN_MEMBER_ID  # type: ignore[attr-defined]
    wrong = SyncGroupRequest(group_id="raw-checks", generation_id=generation + 1, member_id=member)
    assert client.request(SYNC, 5, wrong).error_code == E.ILLEGAL_GENERATION
    beat = client.request(
        HEARTBEAT, 4, HeartbeatRequest(group_id="raw-checks", generation_id=generation, member_id="x")
    )
    assert beat.error_code == E.UNKNOWN_MEMBER_ID
    assert commit(client, "raw-checks", "stranger", generation) == E.UNKNOWN_MEMBER_ID
    assert commit(client, "raw-checks", member, generation + 3) == E.ILLEGAL_GENERATION
    assert commit(client, "raw-checks", "", -1) == E.UNKNOWN_MEMBER_ID  # the group has members: no simple commit
    assert commit(client, "raw-checks", member, generation, metadata="m" * 5000) == E.OFFSET_METADATA_TOO_LARGE
    assert commit(client, "raw-checks", member, generation, topic="no-such-topic") == E.UNKNOWN_TOPIC_OR_PARTITION
    assert commit(client, "raw-checks", member, generation) == E.NONE
    partition = OffsetDeleteRequestPartition(partition_index=0)
    delete = OffsetDeleteRequest(
        group_id="raw-checks", topics=[OffsetDeleteRequestTopic(name="raw", partitions=[partition])]
    )
    deleted = client.request(DELETE_OFFSETS, 0, delete)
    assert deleted.topics[0].partitions[0].error_code == E.GROUP_SUBSCRIBED_TO_TOPIC
    left = client.request(LEAVE, 3, LeaveGroupRequest(group_id="raw-checks", members=[
        MemberIdentity(member_id=member), MemberIdentity(member_id="ghost")]))  # fmt: skip
    assert [m.error_code for m in left.members] == [E.NONE, E.UNKNOWN_MEMBER_ID]
    assert client.request(DELETE_OFFSETS, 0, delete).topics[0].partitions[0].error_code == E.NONE


def test_oversized_member_metadata_fails_the_sync_not_the_broker(broker: BrokerProcess) -> None:
    client = RawClient(broker)
    first = join(client, "raw-huge", metadata=b"\0" * (2 << 20))
    joined = join(client, "raw-huge", first.member_id, metadata=b"\0" * (2 << 20))  # type: ignore[attr-defined]
    sync = SyncGroupRequest(group_id="raw-huge", generation_id=joined.generation_id,  # type: ignore[attr-defined]
                            member_id=joined.member_id)  # type: ignore[attr-defined]  # fmt: skip
    assert client.request(SYNC, 5, sync).error_code == E.UNKNOWN_SERVER_ERROR
    member, _ = member_of(client, "raw-neighbour")  # other groups are unaffected
    assert member


def test_offset_fetch_multi_group_list_and_describe(broker: BrokerProcess) -> None:
    client = RawClient(broker)
    assert commit(client, "raw-simple", "", -1, metadata="hi") == E.NONE
    fetched = client.request(FETCH, 8, OffsetFetchRequest(groups=[
        OffsetFetchRequestGroup(group_id="raw-simple", topics=None),
        OffsetFetchRequestGroup(group_id="raw-nobody", topics=None)]))  # fmt: skip
    simple, nobody = fetched.groups
    parts = [(t.name, p.partition_index, p.committed_offset, p.metadata) for t in simple.topics for p in t.partitions]
    assert parts == [("raw", 0, 1, "hi")] and nobody.topics == [] and nobody.error_code == E.NONE
    listed = client.request(LIST, 4, ListGroupsRequest(states_filter=["empty"]))
    assert "raw-simple" in {g.group_id for g in listed.groups}
    assert all(g.group_state == "Empty" for g in listed.groups)
    described = client.request(DESCRIBE, 5, DescribeGroupsRequest(groups=["raw-simple", "raw-unknown"]))
    assert [(g.group_id, g.group_state, g.error_code) for g in described.groups] == [
        ("raw-simple", "Empty", 0), ("raw-unknown", "Dead", 0)]  # fmt: skip


def test_a_stable_group_and_its_offsets_survive_a_crash(tmp_path: Path) -> None:
    """Start-up loads ``__consumer_offsets`` before it listens: the member finds its group as it was."""
    overrides = {"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "3"}
    with BrokerProcess(tmp_path, overrides) as process:
        client = RawClient(process)
        client.create_topic("raw")
        member, generation = member_of(client, "survivor", session=60000)
        assert commit(client, "survivor", member, generation) == E.NONE
        client.close()
        process.restart(clean=False)  # SIGKILL
        client = RawClient(process)
        described = client.request(DESCRIBE, 5, DescribeGroupsRequest(groups=["survivor"])).groups[0]
        assert (described.error_code, described.group_state) == (E.NONE, "Stable")
        assert [m.member_id for m in described.members] == [member]
        beat = HeartbeatRequest(group_id="survivor", generation_id=generation, member_id=member)
        assert client.request(HEARTBEAT, 4, beat).error_code == E.NONE
        fetched = client.request(
            FETCH, 8, OffsetFetchRequest(groups=[OffsetFetchRequestGroup(group_id="survivor", topics=None)])
        )
        partitions = [(p.partition_index, p.committed_offset) for t in fetched.groups[0].topics for p in t.partitions]
        assert partitions == [(0, 1)]
        client.close()

"""Cluster-level admin APIs: describe cluster and log dirs, leader elections, reassignments, and
DescribeTopicPartitions paging."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import InvalidReplicationAssignmentError, NoReassignmentInProgressError, UnknownTopicOrPartitionError

from protocol.errors import ErrorCode
from protocol.messages.describe_topic_partitions import (
    DESCRIBE_TOPIC_PARTITIONS,
    Cursor,
    DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse,
    TopicRequest,
)
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

TIMEOUT_S = 15


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path_factory.mktemp("admin-cluster"), {"broker.rack": "rack-a"}) as process:
        yield process


@pytest.fixture(scope="module")
def kp(broker: BrokerProcess) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_S * 1000)
    client.create_topics([NewTopic("alpha", 3, 1), NewTopic("beta", 2, 1), NewTopic("gamma", 1, 1)])
    yield client
    client.close()


def test_describe_cluster(broker: BrokerProcess, kp: KafkaAdminClient) -> None:
    described = kp.describe_cluster()
    assert described["controller_id"] == 0
    assert described["brokers"] == [{"broker_id": 0, "host": "127.0.0.1", "port": broker.port, "rack": "rack-a"}]
    assert len(described["cluster_id"]) == 22

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    confluent = admin.describe_cluster().result(TIMEOUT_S)
    assert confluent.cluster_id == described["cluster_id"]
    assert confluent.controller.id == 0
    assert [(n.id, n.host, n.port, n.rack) for n in confluent.nodes] == [(0, "127.0.0.1", broker.port, "rack-a")]


def test_describe_log_dirs_reports_partition_sizes(broker: BrokerProcess, kp: KafkaAdminClient) -> None:
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for _ in range(10):
        producer.produce("gamma", b"v" * 100, partition=0)
    assert producer.flush(TIMEOUT_S) == 0

    (answer,) = kp.describe_log_dirs()
    (log_dir,) = answer["log_dirs"]
    assert log_dir["error_code"] == 0
    assert log_dir["log_dir"] == str(broker.log_dir)
    assert log_dir["total_bytes"] >= log_dir["usable_bytes"] > 0
    sizes = {(t["name"], p["partition_index"]): p["partition_size"] for t in log_dir["topics"] for p in t["partitions"]}
    assert {("alpha", 0), ("alpha", 1), ("alpha", 2), ("beta", 0), ("beta", 1), ("gamma", 0)} <= set(sizes)
    assert sizes[("gamma", 0)] > 1000
    assert sizes[("alpha", 0)] == 0
    assert all(p["offset_lag"] == 0 for t in log_dir["topics"] for p in t["partitions"])


def test_preferred_leader_election_is_never_needed(kp: KafkaAdminClient) -> None:
    answer = kp.elect_leaders(0, {"alpha": [0, 2], "unknown": [0]}, raise_errors=False)
    results = {
        (topic.topic, p.partition_id): (p.error_code, p.error_message)
        for topic in answer.replica_election_results
        for p in topic.partition_result
    }
    assert results == {
        ("alpha", 0): (ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."),
        ("alpha", 2): (ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."),
        ("unknown", 0): (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "No such topic as unknown"),
    }


def test_no_reassignment_is_ever_in_progress(kp: KafkaAdminClient) -> None:
    assert kp.list_partition_reassignments() == {}
    assert kp.alter_partition_reassignments({TopicPartition("alpha", 0): None}) == {
        TopicPartition("alpha", 0): NoReassignmentInProgressError
    }


def test_reassignment_targets_are_checked(kp: KafkaAdminClient) -> None:
    answer = kp.alter_partition_reassignments(
        {TopicPartition("alpha", 0): [3], TopicPartition("alpha", 1): [0], TopicPartition("nope", 0): [0]}
    )
    assert answer == {
        TopicPartition("alpha", 0): InvalidReplicationAssignmentError,
        TopicPartition("alpha", 1): None,  # the current replicas: done at once
        TopicPartition("nope", 0): UnknownTopicOrPartitionError,
    }
    assert kp.list_partition_reassignments() == {}


def describe(broker: BrokerProcess, request: DescribeTopicPartitionsRequest) -> DescribeTopicPartitionsResponse:
    response: DescribeTopicPartitionsResponse = RawClient(broker).request(DESCRIBE_TOPIC_PARTITIONS.key, 0, request)
    return response


def test_describe_topic_partitions_pages_with_a_cursor(broker: BrokerProcess, kp: KafkaAdminClient) -> None:
    seen: list[tuple[str, int]] = []
    cursor: Cursor | None = None
    pages = 0
    while True:
        response = describe(broker, DescribeTopicPartitionsRequest(response_partition_limit=2, cursor=cursor))
        pages += 1
        for topic in response.topics:
            assert topic.error_code == 0
            for p in topic.partitions:
                assert (p.leader_id, p.replica_nodes, p.isr_nodes) == (0, [0], [0])
                assert (p.eligible_leader_replicas, p.last_known_elr, p.offline_replicas) == ([], [], [])
                seen.append((topic.name or "", p.partition_index))
        cursor = response.next_cursor
        if cursor is None:
            break
    user_topics = [tp for tp in seen if not tp[0].startswith("__")]
    assert user_topics == [("alpha", 0), ("alpha", 1), ("alpha", 2), ("beta", 0), ("beta", 1), ("gamma", 0)]
    assert pages >= 3


def test_describe_topic_partitions_by_name(broker: BrokerProcess, kp: KafkaAdminClient) -> None:
    request = DescribeTopicPartitionsRequest(
        topics=[TopicRequest(name="gamma"), TopicRequest(name="missing"), TopicRequest(name="bad name")]
    )
    response = describe(broker, request)
    assert [(t.name, t.error_code, len(t.partitions)) for t in response.topics] == [
        ("bad name", ErrorCode.INVALID_TOPIC_EXCEPTION, 0),
        ("gamma", ErrorCode.NONE, 1),
        ("missing", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0),
    ]
    answer = kp.describe_topic_partitions(["beta"], response_partition_limit=1)
    assert [(t["name"], [p["partition_index"] for p in t["partitions"]]) for t in answer["topics"]] == [("beta", [0])]
    assert answer["next_cursor"] == {"topic_name": "beta", "partition_index": 1}


def test_describe_topic_partitions_cursor_must_be_among_the_topics(broker: BrokerProcess) -> None:
    request = DescribeTopicPartitionsRequest(
        topics=[TopicRequest(name="alpha")], cursor=Cursor(topic_name="beta", partition_index=0)
    )
    response = describe(broker, request)
    assert [(t.name, t.error_code) for t in response.topics] == [("alpha", ErrorCode.INVALID_REQUEST)]

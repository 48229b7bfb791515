"""Topic administration through real admin clients: create, describe, grow, delete, and their errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException, TopicCollection
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewPartitions, NewTopic
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.admin import NewPartitions as KpNewPartitions
from kafka.admin import NewTopic as KpNewTopic
from kafka.errors import InvalidPartitionsError, TopicAlreadyExistsError

from protocol.errors import ErrorCode
from tests.harness import BrokerProcess

TIMEOUT_S = 15


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path_factory.mktemp("admin-topics"), {"num.partitions": "2"}) as process:
        yield process


@pytest.fixture(scope="module")
def confluent(broker: BrokerProcess) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap})


@pytest.fixture(scope="module")
def kp(broker: BrokerProcess) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_S * 1000)
    yield client
    client.close()


def create(admin: AdminClient, *topics: NewTopic, validate_only: bool = False) -> dict[str, Any]:
    """Topic name -> None on success, else the KafkaError."""
    outcome: dict[str, Any] = {}
    for name, future in admin.create_topics(list(topics), validate_only=validate_only).items():
        try:
            outcome[name] = future.result(TIMEOUT_S)
        except KafkaException as exc:
            outcome[name] = exc.args[0]
    return outcome


def partitions_of(kp: KafkaAdminClient, topic: str) -> list[dict[str, Any]]:
    (described,) = kp.describe_topics([topic])
    assert described["error_code"] == 0
    return list(described["partitions"])


def test_create_describe_delete_with_confluent(confluent: AdminClient, kp: KafkaAdminClient) -> None:
    assert create(confluent, NewTopic("orders", 3, 1)) == {"orders": None}
    description = confluent.describe_topics(TopicCollection(["orders"]))["orders"].result(TIMEOUT_S)
    assert [p.id for p in description.partitions] == [0, 1, 2]
    assert all(p.leader.id == 0 and [r.id for r in p.replicas] == [0] for p in description.partitions)
    assert "orders" in kp.list_topics()

    confluent.delete_topics(["orders"])["orders"].result(TIMEOUT_S)
    assert "orders" not in kp.list_topics()


def test_broker_defaults_apply_when_counts_are_minus_one(confluent: AdminClient, kp: KafkaAdminClient) -> None:
    assert create(confluent, NewTopic("defaults")) == {"defaults": None}  # librdkafka sends -1 / -1
    assert len(partitions_of(kp, "defaults")) == 2  # num.partitions=2 on this broker


def test_manual_replica_assignment(confluent: AdminClient, kp: KafkaAdminClient) -> None:
    assert create(confluent, NewTopic("manual", 3, replica_assignment=[[0], [0], [0]])) == {"manual": None}
    assert [p["replica_nodes"] for p in partitions_of(kp, "manual")] == [[0], [0], [0]]
    bad = create(confluent, NewTopic("manual-bad", 2, replica_assignment=[[0], [7]]))["manual-bad"]
    assert bad.code() == ErrorCode.INVALID_REPLICA_ASSIGNMENT
    assert "includes broker 7, but no such broker is registered" in bad.str()


def test_validate_only_creates_nothing(confluent: AdminClient, kp: KafkaAdminClient) -> None:
    assert create(confluent, NewTopic("dry-run", 4, 1), validate_only=True) == {"dry-run": None}
    assert "dry-run" not in kp.list_topics()
    answer = kp.create_topics([KpNewTopic("dry-run-kp", 5, 1)], validate_only=True)
    (topic,) = answer["topics"]
    assert (topic["error_code"], topic["num_partitions"], topic["replication_factor"]) == (0, 5, 1)
    assert "dry-run-kp" not in kp.list_topics()


def test_creation_errors(confluent: AdminClient) -> None:
    assert create(confluent, NewTopic("exists", 1, 1)) == {"exists": None}
    outcome = create(
        confluent,
        NewTopic("exists", 1, 1),
        NewTopic("bad name!", 1, 1),
        NewTopic("too-many-replicas", 1, 3),
        NewTopic("zero-partitions", 0, 1),
        NewTopic("unknown-config", 1, 1, config={"no.such.config": "1"}),
        NewTopic("bad-value", 1, 1, config={"retention.ms": "soon"}),
        NewTopic("bad-choice", 1, 1, config={"cleanup.policy": "shred"}),
    )
    codes = {name: error.code() for name, error in outcome.items()}
    assert codes == {
        "exists": ErrorCode.TOPIC_ALREADY_EXISTS,
        "bad name!": ErrorCode.INVALID_TOPIC_EXCEPTION,
        "too-many-replicas": ErrorCode.INVALID_REPLICATION_FACTOR,
        "zero-partitions": ErrorCode.INVALID_PARTITIONS,
        "unknown-config": ErrorCode.INVALID_CONFIG,
        "bad-value": ErrorCode.INVALID_CONFIG,
        "bad-choice": ErrorCode.INVALID_CONFIG,
    }
    assert outcome["exists"].str() == "Topic 'exists' already exists."
    assert outcome["unknown-config"].str() == "Unknown topic config name: no.such.config"
    assert outcome["bad-value"].str() == "Invalid value soon for configuration retention.ms: Not a number of type LONG"
    assert outcome["bad-choice"].str() == (
        "Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete"
    )
    assert "only 1 broker(s) are registered" in outcome["too-many-replicas"].str()


def test_colliding_name_is_refused(confluent: AdminClient) -> None:
    assert create(confluent, NewTopic("metrics.a", 1, 1)) == {"metrics.a": None}
    error = create(confluent, NewTopic("metrics_a", 1, 1))["metrics_a"]
    assert error.code() == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert "collides with existing topic: metrics.a" in error.str()


def test_duplicate_names_in_one_request_fail_each(kp: KafkaAdminClient) -> None:
    answer = kp.create_topics([KpNewTopic("twice", 1, 1), KpNewTopic("twice", 1, 1)], raise_errors=False)
    assert [(t["error_code"], t["error_message"]) for t in answer["topics"]] == [
        (ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
    ] * 2
    assert "twice" not in kp.list_topics()


def test_kafka_python_create_reports_existing_topic(kp: KafkaAdminClient) -> None:
    kp.create_topics([KpNewTopic("kp-topic", 1, 1)])
    with pytest.raises(TopicAlreadyExistsError):
        kp.create_topics([KpNewTopic("kp-topic", 1, 1)])


def test_create_partitions(confluent: AdminClient, kp: KafkaAdminClient) -> None:
    assert create(confluent, NewTopic("growing", 1, 1)) == {"growing": None}
    assert len(partitions_of(kp, "growing")) == 1  # described once before it grows
    confluent.create_partitions([NewPartitions("growing", 3)])["growing"].result(TIMEOUT_S)
    assert len(partitions_of(kp, "growing")) == 3

    dry = confluent.create_partitions([NewPartitions("growing", 6)], validate_only=True)
    dry["growing"].result(TIMEOUT_S)
    assert len(partitions_of(kp, "growing")) == 3

    kp.create_partitions({"growing": KpNewPartitions(4, new_assignments=[[0]])})
    assert len(partitions_of(kp, "growing")) == 4

    with pytest.raises(KafkaException) as shrink:
        confluent.create_partitions([NewPartitions("growing", 2)])["growing"].result(TIMEOUT_S)
    assert shrink.value.args[0].code() == ErrorCode.INVALID_PARTITIONS
    assert shrink.value.args[0].str() == "The topic growing currently has 4 partition(s); 2 would not be an increase."
    with pytest.raises(InvalidPartitionsError):
        kp.create_partitions({"growing": KpNewPartitions(4)})
    with pytest.raises(KafkaException) as unknown:
        confluent.create_partitions([NewPartitions("no-such-topic", 2)])["no-such-topic"].result(TIMEOUT_S)
    assert unknown.value.args[0].code() == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_new_partitions_take_writes(broker: BrokerProcess, confluent: AdminClient) -> None:
    from confluent_kafka import Producer

    assert create(confluent, NewTopic("grown-then-written", 1, 1)) == {"grown-then-written": None}
    confluent.create_partitions([NewPartitions("grown-then-written", 2)])["grown-then-written"].result(TIMEOUT_S)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "topic.metadata.refresh.interval.ms": 500})
    delivered: list[int | None] = []
    producer.produce(
        "grown-then-written", b"x", partition=1, on_delivery=lambda err, msg: delivered.append(msg.partition())
    )
    assert producer.flush(TIMEOUT_S) == 0
    assert delivered == [1]


def test_delete_errors(confluent: AdminClient, kp: KafkaAdminClient) -> None:
    with pytest.raises(KafkaException) as unknown:
        confluent.delete_topics(["never-created"])["never-created"].result(TIMEOUT_S)
    assert unknown.value.args[0].code() == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    answer = kp.delete_topics(["never-created"], raise_errors=False)
    assert [(t["name"], t["error_code"], t["error_message"]) for t in answer["topics"]] == [
        ("never-created", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.")
    ]


def test_deleted_topic_can_be_created_again_empty(broker: BrokerProcess, confluent: AdminClient) -> None:
    from confluent_kafka import Producer

    assert create(confluent, NewTopic("reborn", 1, 1)) == {"reborn": None}
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce("reborn", b"old")
    assert producer.flush(TIMEOUT_S) == 0
    confluent.delete_topics(["reborn"])["reborn"].result(TIMEOUT_S)
    assert create(confluent, NewTopic("reborn", 1, 1)) == {"reborn": None}
    low, high = _watermarks(broker, "reborn")
    assert (low, high) == (0, 0)


def _watermarks(broker: BrokerProcess, topic: str) -> tuple[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "watermarks"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S)
        return int(low), int(high)
    finally:
        consumer.close()


def test_topics_and_configs_survive_restart(tmp_path: Path) -> None:
    with BrokerProcess(tmp_path) as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        assert create(admin, NewTopic("durable", 3, 1, config={"retention.ms": "3600000"})) == {"durable": None}
        admin.create_partitions([NewPartitions("durable", 4)])["durable"].result(TIMEOUT_S)
        before = _topic_id(broker, "durable")
        broker.restart()
        kp = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_S * 1000)
        try:
            assert len(partitions_of(kp, "durable")) == 4
            assert _topic_id(broker, "durable") == before
            configs = kp.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "durable")])
            assert configs["topic"]["durable"]["retention.ms"]["value"] == "3600000"
            assert configs["topic"]["durable"]["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
        finally:
            kp.close()


def _topic_id(broker: BrokerProcess, topic: str) -> str:
    kp = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_S * 1000)
    try:
        (described,) = kp.describe_topics([topic])
        return str(described["topic_id"])
    finally:
        kp.close()


def test_deletion_can_be_disabled(tmp_path: Path) -> None:
    with BrokerProcess(tmp_path, {"delete.topic.enable": "false"}) as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        assert create(admin, NewTopic("kept", 1, 1)) == {"kept": None}
        with pytest.raises(KafkaException) as refused:
            admin.delete_topics(["kept"])["kept"].result(TIMEOUT_S)
        assert refused.value.args[0].code() == ErrorCode.TOPIC_DELETION_DISABLED

"""Partitions, not descriptors, bound a broker: under a 256-descriptor limit a real broker creates a
topic of 600 partitions, real clients produce to and consume from every one, and it restarts with
them; a topic creation that fails leaves no partition directory behind."""

from __future__ import annotations

import resource
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from tests.harness import BrokerProcess

LIMIT = 256
PARTITIONS = 600
TIMEOUT_S = 60


def _descriptor_limit() -> None:
    """In the broker's process before it execs: a soft RLIMIT_NOFILE of ``LIMIT`` (set in the test's own
    process instead, it would also fail the test once the test process holds more descriptors)."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


def start(broker: BrokerProcess) -> BrokerProcess:
    broker.preexec = _descriptor_limit
    return broker.start()


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=TIMEOUT_S)[topic].result(TIMEOUT_S)


def consume_all(bootstrap: str, topic: str, partitions: int, expected: int) -> dict[int, list[bytes]]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "g", "enable.auto.commit": False, "fetch.wait.max.ms": 50}
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got: dict[int, list[bytes]] = {}
    try:
        for _ in range(TIMEOUT_S * 10):
            for message in consumer.consume(1000, 0.1):
                assert message.error() is None, message.error()
                partition, value = message.partition(), message.value()
                assert partition is not None and value is not None
                got.setdefault(partition, []).append(value)
            if sum(map(len, got.values())) >= expected:
                break
    finally:
        consumer.close()
    return got


def test_a_topic_of_many_more_partitions_than_descriptors_is_created_used_and_reloaded(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path)
    start(broker)
    try:
        create_topic(broker.bootstrap, "wide", PARTITIONS)
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20})
        for p in range(PARTITIONS):
            producer.produce("wide", f"v{p}".encode(), partition=p)
        assert producer.flush(TIMEOUT_S) == 0
        got = consume_all(broker.bootstrap, "wide", PARTITIONS, PARTITIONS)
        assert got == {p: [f"v{p}".encode()] for p in range(PARTITIONS)}
        broker.stop()
        start(broker)
        for p in range(PARTITIONS):
            producer.produce("wide", f"w{p}".encode(), partition=p)
        assert producer.flush(TIMEOUT_S) == 0
        got = consume_all(broker.bootstrap, "wide", PARTITIONS, 2 * PARTITIONS)
        assert got == {p: [f"v{p}".encode(), f"w{p}".encode()] for p in range(PARTITIONS)}
        assert "Too many open files" not in broker.output
    finally:
        broker.stop()


def test_a_failed_creation_leaves_no_partition_directory(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path)
    start(broker)
    try:
        # A file where partition 7's directory must go: that log cannot be made, so the topic is not.
        (broker.log_dir / "doomed-7").write_bytes(b"in the way")
        try:
            create_topic(broker.bootstrap, "doomed", 50)
            created = True
        except KafkaException:
            created = False
        assert not created
        assert sorted(p.name for p in broker.log_dir.glob("doomed-*")) == ["doomed-7"]
        broker.stop()
        (broker.log_dir / "doomed-7").unlink()
        start(broker)
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        assert "doomed" not in admin.list_topics(timeout=TIMEOUT_S).topics
        assert list(broker.log_dir.glob("doomed-*")) == []
        create_topic(broker.bootstrap, "doomed", 50)  # the name is free again
        assert len(list(broker.log_dir.glob("doomed-*"))) == 50
    finally:
        broker.stop()


def test_records_sent_with_sendfile_from_more_partitions_than_open_files(tmp_path: Path) -> None:
    """Records of 40 KiB go out with sendfile (a descriptor of the response's own, opened by path)
    while the broker closes the partitions' segment files as idle to stay within its pool."""
    partitions, size = 200, 40 * 1024
    broker = BrokerProcess(tmp_path)
    start(broker)
    try:
        create_topic(broker.bootstrap, "large", partitions)
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20})
        values = {p: bytes([p % 251]) * size for p in range(partitions)}
        for p, value in values.items():
            producer.produce("large", value, partition=p)
        assert producer.flush(TIMEOUT_S) == 0
        got = consume_all(broker.bootstrap, "large", partitions, partitions)
        assert got == {p: [value] for p, value in values.items()}
        assert "Too many open files" not in broker.output
    finally:
        broker.stop()

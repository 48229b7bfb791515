"""AlterReplicaLogDirs (KIP-113) with kafka-python's admin client against a broker with two log dirs:
a partition moves to the other dir while a producer keeps writing, every acknowledged record is
still there, in order, and DescribeLogDirs lists the partition in its new dir (also after a restart);
the move to the dir a partition already lives in changes nothing; unknown dirs and partitions get
Kafka's errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import LogDirNotFoundError, NoError, UnknownTopicOrPartitionError

from tests.harness import BrokerProcess

TIMEOUT_S = 60.0


@pytest.fixture
def dirs(tmp_path: Path) -> list[str]:
    return [str((tmp_path / "dir-a").resolve()), str((tmp_path / "dir-b").resolve())]


@pytest.fixture
def broker(tmp_path: Path, dirs: list[str]) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path, {"log.dirs": ",".join(dirs), "log.segment.bytes": "65536"}) as process:
        yield process


def where(admin: KafkaAdminClient, topic: str) -> dict[int, list[tuple[str, bool]]]:
    """partition -> [(log dir, is future)] from DescribeLogDirs."""
    out: dict[int, list[tuple[str, bool]]] = {}
    for broker in admin.describe_log_dirs():
        for result in broker["log_dirs"]:
            for t in result["topics"]:
                if t["name"] == topic:
                    for p in t["partitions"]:
                        out.setdefault(p["partition_index"], []).append((result["log_dir"], p["is_future_key"]))
    return out


def wait_until(check: Any, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def read_all(broker: BrokerProcess, topic: str, partition: int, count: int) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False, consumer_timeout_ms=2000)
    tp = TopicPartition(topic, partition)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    values: list[bytes] = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(values) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            values.extend(r.value for r in records)
    consumer.close()
    return values


def test_a_partition_moves_to_the_other_dir_while_it_takes_appends(broker: BrokerProcess, dirs: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic("moving", 1, 1)])
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
    acked: list[bytes] = []
    stop = threading.Event()

    def produce() -> None:
        i = 0
        while not stop.is_set():
            value = b"%08d" % i + b"x" * 200
            producer.send("moving", value, partition=0).get(timeout=30)
            acked.append(value)
            i += 1

    for i in range(2000):  # about 400 KB: several segments to copy
        producer.send("moving", b"before-%06d" % i, partition=0)
    producer.flush()
    (source,) = [d for d, _ in where(admin, "moving")[0]]
    destination = next(d for d in dirs if d != source)
    writer = threading.Thread(target=produce)
    writer.start()
    try:
        wait_until(lambda: len(acked) > 50, "appends before the move")
        answer = admin.alter_replica_log_dirs({("moving", 0, 0): destination})
        assert list(answer.values()) == [NoError]
        wait_until(lambda: where(admin, "moving")[0] == [(destination, False)], "the partition in its new dir")
        moved_at = len(acked)
        wait_until(lambda: len(acked) > moved_at + 50, "appends after the move")
    finally:
        stop.set()
        writer.join(TIMEOUT_S)
        producer.close()
    assert not (Path(source) / "moving-0").exists()
    values = read_all(broker, "moving", 0, 2000 + len(acked))
    assert values[:2000] == [b"before-%06d" % i for i in range(2000)]
    assert values[2000:] == acked  # every acknowledged record, once, in order

    broker.restart()
    admin.close()
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    assert where(admin, "moving")[0] == [(destination, False)]
    assert read_all(broker, "moving", 0, 2000 + len(acked)) == values
    admin.close()


def test_the_move_to_its_own_dir_and_the_errors(broker: BrokerProcess, dirs: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic("staying", 1, 1)])
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i in range(10):
        producer.send("staying", b"%d" % i, partition=0)
    producer.flush()
    producer.close()
    (home,) = [d for d, _ in where(admin, "staying")[0]]
    assert admin.alter_replica_log_dirs({("staying", 0, 0): home}) == {("staying", 0, 0): NoError}
    assert where(admin, "staying")[0] == [(home, False)]
    answer = admin.alter_replica_log_dirs(
        {("staying", 0, 0): dirs[0] + "-elsewhere", ("no-such-topic", 0, 0): dirs[0], ("staying", 7, 0): dirs[1]}
    )
    assert answer == {
        ("staying", 0, 0): LogDirNotFoundError,
        ("no-such-topic", 0, 0): UnknownTopicOrPartitionError,
        ("staying", 7, 0): UnknownTopicOrPartitionError,
    }
    assert read_all(broker, "staying", 0, 10) == [b"%d" % i for i in range(10)]
    admin.close()

"""Restarts: what a producer was told is stored survives SIGKILL; topics and their configs survive too.

Each test has its own broker (it kills it), started on the same port and log dir again by
``BrokerProcess.restart``.
"""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.cimpl import NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition

from tests.harness import BrokerProcess

TIMEOUT_S = 30.0
PARTITIONS = 3
TOPIC_CONFIGS = {"retention.ms": "3600000", "max.message.bytes": "2000000", "cleanup.policy": "delete"}


def create_topic(broker: BrokerProcess, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=PARTITIONS, replication_factor=1, config=TOPIC_CONFIGS)],
        operation_timeout=TIMEOUT_S,
        request_timeout=TIMEOUT_S,
    )
    futures[name].result(TIMEOUT_S)


def topic_configs(broker: BrokerProcess, name: str) -> dict[str, tuple[str, bool]]:
    """Each config's value and whether it is the topic's own override (not a default)."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    entries = admin.describe_configs([resource], request_timeout=TIMEOUT_S)[resource].result(TIMEOUT_S)
    return {key: (entry.value, not entry.is_default) for key, entry in entries.items()}


def partition_count(broker: BrokerProcess, name: str) -> int:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topic = admin.list_topics(name, timeout=TIMEOUT_S).topics[name]
    assert topic.error is None
    return len(topic.partitions)


def produce_acked(broker: BrokerProcess, topic: str, count: int, prefix: str) -> dict[tuple[int, int], bytes]:
    """Produce with acks=all; returns every acknowledged record by (partition, offset)."""
    acked: dict[tuple[int, int], bytes] = {}
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 2})

    def delivered(err: KafkaError | None, msg: Any) -> None:
        if err is None:
            acked[(msg.partition(), msg.offset())] = msg.value()

    for i in range(count):
        producer.produce(topic, value=f"{prefix}-{i}".encode(), partition=i % PARTITIONS, on_delivery=delivered)
        producer.poll(0)
    assert producer.flush(TIMEOUT_S) == 0
    assert len(acked) == count
    return acked


def read_all(broker: BrokerProcess, topic: str) -> dict[tuple[int, int], bytes]:
    """Every record of every partition, from the beginning to the end offsets asked for first."""
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "restart-check", "enable.auto.commit": False}
    )
    try:
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT_S)[1] for p in range(PARTITIONS)
        }
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS) if ends[p] > 0])
        records: dict[tuple[int, int], bytes] = {}
        deadline = time.monotonic() + TIMEOUT_S
        while len(records) < sum(ends.values()) and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=0.5):
                partition, offset, value = msg.partition(), msg.offset(), msg.value()
                if msg.error() is None and partition is not None and offset is not None and value is not None:
                    records[(partition, offset)] = value
        return records
    finally:
        consumer.close()


def test_sigkill_keeps_every_acknowledged_record_at_its_offset(broker: BrokerProcess, topic: str) -> None:
    create_topic(broker, topic)
    acked = produce_acked(broker, topic, 3000, "before")

    broker.restart(clean=False)  # SIGKILL: no flush, no checkpoints

    assert partition_count(broker, topic) == PARTITIONS
    configs = topic_configs(broker, topic)
    for name, value in TOPIC_CONFIGS.items():
        assert configs[name] == (value, True), name
    stored = read_all(broker, topic)
    assert {k: stored.get(k) for k in acked} == acked
    # New records go after the old ones.
    more = produce_acked(broker, topic, 30, "after")
    assert sorted(more) == [(p, 1000 + i) for p in range(PARTITIONS) for i in range(10)]
    assert read_all(broker, topic) == {**acked, **more}


def test_sigkill_while_producing(broker: BrokerProcess, topic: str) -> None:
    """Kill the broker under a running producer: whatever was acknowledged before the kill is there."""
    create_topic(broker, topic)
    acked: dict[tuple[int, int], bytes] = {}
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 1, "message.timeout.ms": 3000, "retries": 0}
    )

    def delivered(err: KafkaError | None, msg: Any) -> None:
        if err is None:
            acked[(msg.partition(), msg.offset())] = msg.value()

    i = 0
    killed_at: float | None = None
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and (killed_at is None or time.monotonic() < killed_at + 0.5):
        if killed_at is None and len(acked) >= 500:
            broker.kill()  # SIGKILL with the producer's next requests in flight
            killed_at = time.monotonic()
        try:
            producer.produce(topic, value=b"r%d" % i, partition=i % PARTITIONS, on_delivery=delivered)
        except BufferError:
            producer.poll(0.05)
            continue
        i += 1
        producer.poll(0)
    assert killed_at is not None, f"only {len(acked)} records were acknowledged in {TIMEOUT_S}s"
    producer.flush(10)

    broker.restart(clean=False)
    stored = read_all(broker, topic)
    assert {k: stored.get(k) for k in acked} == acked


def test_clean_restart_keeps_records_topics_and_configs(broker: BrokerProcess, topic: str) -> None:
    create_topic(broker, topic)
    acked = produce_acked(broker, topic, 500, "clean")

    assert broker.stop(timeout_s=10) == 0
    assert "shut down cleanly" in broker.output
    broker.start()

    assert "recover" not in broker.output.lower()  # a clean stop needs no log recovery
    assert partition_count(broker, topic) == PARTITIONS
    assert {k: v[0] for k, v in topic_configs(broker, topic).items() if k in TOPIC_CONFIGS} == TOPIC_CONFIGS
    assert read_all(broker, topic) == acked


def test_sigterm_with_clients_connected_shuts_down_cleanly(broker: BrokerProcess, topic: str) -> None:
    """A consumer long-polling and an idle producer connected: SIGTERM still ends in a clean shutdown."""
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, fetch_max_wait_ms=10_000, enable_auto_commit=False)
    try:
        producer.send(topic, b"one").get(TIMEOUT_S)
        tp = KafkaTopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        records: list[Any] = []
        deadline = time.monotonic() + TIMEOUT_S
        while not records and time.monotonic() < deadline:
            records = consumer.poll(timeout_ms=500).get(tp, [])
        assert [r.value for r in records] == [b"one"]
        consumer.poll(timeout_ms=200)  # the next fetch now waits in the broker for up to 10 s
        assert broker.stop(timeout_s=10) == 0
        lines = broker.output.splitlines()
        assert "shut down cleanly" in lines[-1]
        assert "Traceback" not in broker.output
    finally:
        consumer.close(autocommit=False)
        producer.close(1)

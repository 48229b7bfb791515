"""kafka-python against the broker: its producer (idempotent by default) and its consumer with manual
assignment, beyond what tests/broker/test_produce.py and test_list_offsets.py already cover (acks,
codecs, keys, headers, tombstones, 1 MiB, offsets_for_times): ordering within each partition of a
keyed, multi-partition topic, timestamps set by the producer, seek and positions, a consumer waiting
at the end of the log, and a highly compressible ~1 MiB value.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from tests.harness import BrokerProcess

TIMEOUT_S = 30.0
BIG = 1024 * 1024 - 1024  # a "1 MiB" value that fits Kafka's default message.max.bytes with its batch


def producer(broker: BrokerProcess, **config: Any) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=int(TIMEOUT_S * 1000), **config)


@pytest.fixture
def consumer(module_broker: BrokerProcess) -> Iterator[KafkaConsumer]:
    c = KafkaConsumer(
        bootstrap_servers=module_broker.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=int(TIMEOUT_S * 1000) + 5000,
        fetch_max_wait_ms=200,
    )
    yield c
    c.close(autocommit=False)


def consume(consumer: KafkaConsumer, tp: TopicPartition, count: int) -> list[Any]:
    """Poll until ``count`` records arrived from ``tp`` (bounded)."""
    records: list[Any] = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(records) < count and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
    assert len(records) == count, f"got {len(records)} of {count} records"
    return records


def send_all(p: KafkaProducer, items: list[dict[str, Any]]) -> list[Any]:
    futures = [p.send(**item) for item in items]
    p.flush(TIMEOUT_S)
    return [f.get(TIMEOUT_S) for f in futures]


def test_ordering_within_a_partition(module_broker: BrokerProcess, consumer: KafkaConsumer, topic: str) -> None:
    count = 2000
    p = producer(module_broker, linger_ms=5, batch_size=4096)
    try:
        metadata = send_all(p, [{"topic": topic, "value": str(i).encode()} for i in range(count)])
    finally:
        p.close(TIMEOUT_S)
    assert [m.offset for m in metadata] == list(range(count))
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    records = consume(consumer, tp, count)
    assert [int(r.value) for r in records] == list(range(count))
    assert [r.offset for r in records] == list(range(count))


def test_offsets_for_times_and_the_ends(module_broker: BrokerProcess, consumer: KafkaConsumer, topic: str) -> None:
    base = int(time.time() * 1000) - 60_000
    stamps = [base, base + 1000, base + 1000, base + 5000]
    p = producer(module_broker)
    try:
        send_all(p, [{"topic": topic, "value": b"t%d" % i, "timestamp_ms": ts} for i, ts in enumerate(stamps)])
    finally:
        p.close(TIMEOUT_S)
    tp = TopicPartition(topic, 0)
    found = consumer.offsets_for_times({tp: base - 1})[tp]
    assert (found.offset, found.timestamp) == (0, base)
    found = consumer.offsets_for_times({tp: base + 1})[tp]
    assert (found.offset, found.timestamp) == (1, base + 1000)  # the first of two equal timestamps
    found = consumer.offsets_for_times({tp: base + 4000})[tp]
    assert (found.offset, found.timestamp) == (3, base + 5000)
    assert consumer.offsets_for_times({tp: base + 6000})[tp] is None
    assert consumer.beginning_offsets([tp]) == {tp: 0}
    assert consumer.end_offsets([tp]) == {tp: 4}

    consumer.assign([tp])
    records = consume(consumer, tp, 4)
    assert [r.timestamp for r in records] == stamps


def test_seek(module_broker: BrokerProcess, consumer: KafkaConsumer, topic: str) -> None:
    p = producer(module_broker)
    try:
        send_all(p, [{"topic": topic, "value": b"%d" % i} for i in range(10)])
    finally:
        p.close(TIMEOUT_S)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, 7)
    assert [r.offset for r in consume(consumer, tp, 3)] == [7, 8, 9]
    consumer.seek_to_beginning(tp)
    assert [r.value for r in consume(consumer, tp, 10)] == [b"%d" % i for i in range(10)]
    assert consumer.position(tp) == 10
    consumer.seek(tp, 4)
    assert consume(consumer, tp, 6)[0].value == b"4"


def test_consumer_waits_for_records_produced_later(
    module_broker: BrokerProcess, consumer: KafkaConsumer, topic: str
) -> None:
    p = producer(module_broker)
    try:
        send_all(p, [{"topic": topic, "value": b"first"}])
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        assert [r.value for r in consume(consumer, tp, 1)] == [b"first"]
        assert consumer.poll(timeout_ms=300) == {}  # at the end: nothing more yet
        send_all(p, [{"topic": topic, "value": b"second"}])
        assert [r.value for r in consume(consumer, tp, 1)] == [b"second"]
    finally:
        p.close(TIMEOUT_S)


def test_partitions_for_an_auto_created_topic(module_broker: BrokerProcess, topic: str) -> None:
    p = producer(module_broker)
    try:
        send_all(p, [{"topic": topic, "value": b"x"}])
        assert p.partitions_for(topic) == {0}
    finally:
        p.close(TIMEOUT_S)


def test_keyed_records_keep_their_order_in_each_partition(module_broker: BrokerProcess, topic: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=module_broker.bootstrap, request_timeout_ms=int(TIMEOUT_S * 1000))
    try:
        admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    finally:
        admin.close()
    keys = [b"user-%d" % k for k in range(12)]
    p = producer(module_broker, linger_ms=5)
    try:
        metadata = send_all(p, [{"topic": topic, "key": keys[i % 12], "value": b"%d" % i} for i in range(1200)])
        assert p.partitions_for(topic) == {0, 1, 2, 3}
    finally:
        p.close(TIMEOUT_S)
    partition_of: dict[bytes, int] = {}
    for i, m in enumerate(metadata):
        assert partition_of.setdefault(keys[i % 12], m.partition) == m.partition  # one key, one partition
    assert len(set(partition_of.values())) > 1

    c = KafkaConsumer(bootstrap_servers=module_broker.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=200)
    try:
        tps = [TopicPartition(topic, n) for n in range(4)]
        c.assign(tps)
        c.seek_to_beginning()
        per_partition: dict[int, list[int]] = {n: [] for n in range(4)}
        deadline = time.monotonic() + TIMEOUT_S
        while sum(map(len, per_partition.values())) < 1200 and time.monotonic() < deadline:
            for tp, batch in c.poll(timeout_ms=500).items():
                per_partition[tp.partition].extend(int(r.value) for r in batch)
    finally:
        c.close(autocommit=False)
    assert sorted(v for values in per_partition.values() for v in values) == list(range(1200))
    for values in per_partition.values():
        assert values == sorted(values)  # each partition holds its records in the order they were sent


def test_compressible_one_mib_value_with_gzip(
    module_broker: BrokerProcess, consumer: KafkaConsumer, topic: str
) -> None:
    value = b"0123456789abcdef" * (BIG // 16)
    p = producer(module_broker, compression_type="gzip")
    try:
        [sent] = send_all(p, [{"topic": topic, "key": b"big", "value": value, "headers": [("kind", b"big")]}])
    finally:
        p.close(TIMEOUT_S)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    [record] = consume(consumer, tp, 1)
    assert (record.offset, record.key, record.value, record.headers) == (sent.offset, b"big", value, [("kind", b"big")])

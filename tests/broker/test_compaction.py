"""A compacted topic, end to end: the broker's log cleaner keeps the latest value of each key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from tests.harness import BrokerProcess

TIMEOUT_S = 30


@pytest.fixture
def compacting_broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    overrides = {"log.cleaner.backoff.ms": "200"}
    with BrokerProcess(tmp_path, overrides) as process:
        yield process


def read_all(bootstrap: str, topic: str, end: int) -> list[tuple[int, bytes | None, bytes | None]]:
    """(offset, key, value) of partition 0 from its start until offset ``end - 1`` (or the timeout)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        seen: list[tuple[int, bytes | None, bytes | None]] = []
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline and (not seen or seen[-1][0] < end - 1):
            for message in consumer.consume(10_000, 0.5):
                if message.error() is None:
                    seen.append((message.offset() or 0, message.key(), message.value()))
        return seen
    finally:
        consumer.close()


def test_cleaner_keeps_latest_value_per_key_at_its_offset(compacting_broker: BrokerProcess) -> None:
    bootstrap = compacting_broker.bootstrap
    admin = AdminClient({"bootstrap.servers": bootstrap})
    configs = {"cleanup.policy": "compact", "segment.bytes": "2000", "min.cleanable.dirty.ratio": "0.01"}
    admin.create_topics([NewTopic("compacted", 1, 1, config=configs)])["compacted"].result(TIMEOUT_S)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "batch.num.messages": 1})
    latest: dict[bytes, tuple[int, bytes]] = {}
    for i in range(300):
        # Ten keys written once, then five keys overwritten again and again.
        key = f"once-{i}".encode() if i < 10 else f"key-{i % 5}".encode()
        value = f"value-{i}".encode()
        latest[key] = (i, value)
        producer.produce("compacted", key=key, value=value)
        producer.poll(0)
    assert producer.flush(TIMEOUT_S) == 0

    # The cleaner may run several passes (the first while the producer is still writing), so wait for
    # the state it must reach, checking on every read what must hold at any moment of the cleaning.
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        records = read_all(bootstrap, "compacted", 300)
        offsets = [offset for offset, _, _ in records]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
        # Every key's latest value is still there, at the offset it was written at.
        for key, (offset, value) in latest.items():
            assert (offset, key, value) in records
        # Segments of 2,000 bytes hold a few dozen of these records: once the cleaner is done with
        # everything below the active segment, only the keys written once are left there, at offsets 0-9.
        below = [offset for offset, _, _ in records if offset < 240]
        if below == list(range(10)) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(records) < 300, "nothing was compacted"
    assert below == list(range(10))

"""Recovery never discards acknowledged data: a flipped byte in an old segment, then SIGKILL; junk at
the tail of the active segment after a clean stop. Real broker processes, real clients, real files.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from tests.harness import BrokerProcess

TIMEOUT_S = 60.0
HEADER_SIZE = 61


def create_topic(broker: BrokerProcess, name: str, configs: dict[str, str]) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1, config=configs)])
    futures[name].result(TIMEOUT_S)


def produce_acked(broker: BrokerProcess, topic: str, count: int, prefix: str) -> dict[int, bytes]:
    """acks=all, small batches; every acknowledged record by offset."""
    acked: dict[int, bytes] = {}
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 2, "batch.num.messages": 200}
    )

    def delivered(err: KafkaError | None, msg: Any) -> None:
        if err is None:
            acked[msg.offset()] = msg.value()

    for i in range(count):
        while True:
            try:
                producer.produce(
                    topic, value=f"{prefix}-{i:06d}-{'x' * 40}".encode(), partition=0, on_delivery=delivered
                )
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(TIMEOUT_S) == 0
    assert len(acked) == count
    return acked


def read_partition(broker: BrokerProcess, topic: str) -> dict[int, bytes]:
    """Every record of partition 0 up to its end offset, by offset."""
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "recovery-check", "enable.auto.commit": False,
         "auto.offset.reset": "earliest"}
    )  # fmt: skip
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S)
        consumer.assign([TopicPartition(topic, 0, low)])
        records: dict[int, bytes] = {}
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=0.5):
                offset, value = msg.offset(), msg.value()
                if msg.error() is None and offset is not None and value is not None:
                    records[offset] = value
            position = consumer.position([TopicPartition(topic, 0)])[0].offset
            if position >= high:
                break
        return records
    finally:
        consumer.close()


def recovery_point(broker: BrokerProcess, topic: str) -> int | None:
    path = broker.log_dir / "recovery-point-offset-checkpoint"
    if not path.exists():
        return None
    for line in path.read_text().splitlines()[2:]:
        name, partition, offset = line.split()
        if (name, partition) == (topic, "0"):
            return int(offset)
    return None


def batches(path: Path) -> list[tuple[int, int, int, int]]:
    """(position, size, base offset, last offset) of every batch of a segment file."""
    data = path.read_bytes()
    out = []
    pos = 0
    while pos + HEADER_SIZE <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        delta = struct.unpack_from(">i", data, pos + 23)[0]
        out.append((pos, length + 12, base, base + delta))
        pos += length + 12
    return out


@pytest.mark.parametrize("stale_checkpoint", [False, True], ids=["checkpointed", "stale-checkpoint"])
def test_flipped_byte_in_an_old_segment_then_sigkill_loses_only_that_batch(
    broker: BrokerProcess, topic: str, stale_checkpoint: bool
) -> None:
    """With the recovery point checkpointed at the active segment, recovery never reads the old one;
    with a stale checkpoint (a crash before it was written) it re-validates it and drops that batch
    alone, with a WARN line."""
    create_topic(broker, topic, {"segment.bytes": "250000"})
    acked = produce_acked(broker, topic, 20_000, "r")
    part = broker.log_dir / f"{topic}-0"
    segments = sorted(part.glob("*.log"))
    assert len(segments) >= 5, segments
    # Each rolled segment is flushed in the background and the recovery point checkpointed right after:
    # a recovery will start at the active segment.
    active_base = int(segments[-1].name.split(".")[0])
    deadline = time.monotonic() + TIMEOUT_S
    while recovery_point(broker, topic) != active_base and time.monotonic() < deadline:
        time.sleep(0.1)
    assert recovery_point(broker, topic) == active_base
    second = segments[1]
    found = batches(second)
    pos, size, first, last = found[len(found) // 2]
    with open(second, "r+b") as f:  # one flipped byte in a record of a batch in the middle
        f.seek(pos + HEADER_SIZE + (size - HEADER_SIZE) // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))

    broker.kill()
    if stale_checkpoint:
        checkpoint = broker.log_dir / "recovery-point-offset-checkpoint"
        checkpoint.write_text(checkpoint.read_text().replace(f"{topic} 0 {active_base}", f"{topic} 0 0"))
        assert recovery_point(broker, topic) == 0
    broker.restart(clean=False)

    if stale_checkpoint:
        assert f"offsets {first}..{last}; the batches from offset {last + 1} on are kept" in broker.output
    stored = read_partition(broker, topic)
    outside = {o: v for o, v in acked.items() if not first <= o <= last}
    lost = [o for o, v in outside.items() if stored.get(o) != v]
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged records lost (damaged batch {first}-{last})"
    more = produce_acked(broker, topic, 100, "after")
    assert min(more) == max(acked) + 1
    final = read_partition(broker, topic)
    assert all(final.get(o) == v for o, v in {**outside, **more}.items())


def test_junk_tail_after_a_clean_stop_is_cut_and_new_records_are_readable(broker: BrokerProcess, topic: str) -> None:
    create_topic(broker, topic, {})
    acked = produce_acked(broker, topic, 500, "before")
    assert broker.stop() == 0
    active = sorted((broker.log_dir / f"{topic}-0").glob("*.log"))[-1]
    size = active.stat().st_size
    with open(active, "ab") as f:
        f.write(bytes(range(256)) * 3)  # junk after the last whole batch

    broker.start()

    assert "WARN" in broker.output and str(size) in broker.output, broker.output
    more = produce_acked(broker, topic, 200, "after")
    assert sorted(more) == list(range(500, 700))
    assert read_partition(broker, topic) == {**acked, **more}

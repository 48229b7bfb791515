"""What the replication tests read back: every record below the high watermark, and the copies of a
partition compared byte for byte below it (``kafkish.testing.replicas``)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from kafkish.testing.replicas import replica_differences
from tests.cluster.brokers import Cluster, wait_for


def consume_all(cluster: Cluster, topic: str, partitions: int) -> list[Any]:
    """Every record below each partition's high watermark, read with confluent-kafka."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": f"read-{uuid.uuid4().hex[:6]}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})  # fmt: skip
    try:
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(partitions)}
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        records: list[Any] = []
        deadline = time.monotonic() + 60
        positions = dict.fromkeys(ends, 0)
        while any(positions[p] < ends[p] for p in ends) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            records.append(msg)
            positions[int(msg.partition() or 0)] = int(msg.offset() or 0) + 1
        return records
    finally:
        consumer.close()


def assert_replicas_identical(cluster: Cluster, topic: str, partitions: int) -> None:
    """Wait until every copy holds the same batches below the leader's high watermark."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "hw"})
    try:
        for p in range(partitions):
            hw = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            dirs = [Path(b.log_dir) / f"{topic}-{p}" for b in cluster.brokers]
            _wait_identical(dirs, hw, f"{topic}-{p}")
            assert hw > 0
    finally:
        consumer.close()


def _wait_identical(dirs: list[Path], hw: int, name: str) -> None:
    wait_for(lambda: not replica_differences(dirs, hw), timeout_s=60, what=f"{name}'s replicas identical below {hw}")

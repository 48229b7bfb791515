"""What the replication tests write and read back: an idempotent acks=all producer running in a thread
(``IdempotentWriter``), every record below the high watermark, and the copies of a partition compared
byte for byte below it (``kafkish.testing.replicas``)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from kafkish.testing.checkers import Record, assert_delivery
from kafkish.testing.replicas import replica_differences
from tests.cluster.brokers import Cluster, wait_for


class IdempotentWriter:
    """An idempotent acks=all confluent-kafka producer writing numbered values round-robin over the
    ``partitions`` of ``topic`` in a thread, from ``with`` (which returns after its first 100 acks)
    to the end of the block (which flushes). It keeps what was acknowledged (``acked``), what failed
    (``failed``) and the errors the client reported (``errors``); ``check`` reads the topic back."""

    def __init__(
        self, cluster: Cluster, topic: str, partitions: int = 1, config: Mapping[str, Any] | None = None
    ) -> None:
        self.topic = topic
        self.partitions = partitions
        self.acked: list[Any] = []
        self.failed: list[KafkaError] = []
        self.errors: list[KafkaError] = []
        self._stop = threading.Event()
        self._producer = Producer({
            "bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 2,
            "message.timeout.ms": 120000, "error_cb": self.errors.append, **(config or {}),
        })  # fmt: skip
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _delivered(self, err: KafkaError | None, msg: Any) -> None:
        (self.failed if err is not None else self.acked).append(err or msg)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            value = f"v-{i}".encode()
            self._producer.produce(self.topic, value, partition=i % self.partitions, on_delivery=self._delivered)
            i += 1
            self._producer.poll(0.003)
        self._producer.flush(120)

    def __enter__(self) -> IdempotentWriter:
        self._thread.start()
        self.wait_for_more(100)
        return self

    def wait_for_more(self, count: int, timeout_s: float = 60, what: str | None = None) -> None:
        start = len(self.acked)
        wait_for(lambda: len(self.acked) >= start + count, timeout_s=timeout_s, what=what or f"{count} more acks")

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(150)

    def check(self, cluster: Cluster) -> None:
        """Nothing failed, and every acknowledged record is read back once, in order."""
        assert not self.failed, self.failed[:5]
        produced = [Record(self.topic, m.value(), m.partition(), m.offset()) for m in self.acked]
        assert_delivery(produced, consume_all(cluster, self.topic, self.partitions))


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

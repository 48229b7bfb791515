"""Real consumers with isolation.level=read_committed: aiokafka, kafka-python, confluent-kafka and
kafkajs skip aborted transactions (from the Fetch's aborted_transactions list) and wait for open ones;
with read_uncommitted they see everything.

The broker runs in-process (tests/broker/inprocess.py): transactional batches arrive by Produce over a
socket; the commit and abort markers are appended as the transaction coordinator appends them (origin
COORDINATOR), since WriteTxnMarkers comes with the coordinator. Blocking clients run in threads while
the broker's event loop serves them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from confluent_kafka import Consumer as ConfluentConsumer
from confluent_kafka import TopicPartition as ConfluentTopicPartition
from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaTopicPartition

from broker.partition import Partition
from broker.server import Broker
from protocol.records import Record, build_batch, build_control_batch
from storage.producer.state import AppendOrigin
from tests.broker.inprocess import AsyncClient, create_topic, produce_answer, produce_request, running_broker

TIMEOUT_S = 30.0
JS = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")
COMMITTED = [b"p0", b"c1", b"c2", b"p1"]
EVERYTHING = [b"p0", b"a1", b"c1", b"a2", b"c2", b"p1", b"open"]


def _now() -> int:
    return int(time.time() * 1000)


def _batch(value: bytes, pid: int = -1, seq: int = -1) -> bytes:
    txn = pid >= 0
    return build_batch(
        [Record(0, _now(), b"k", value, [])],
        producer_id=pid, producer_epoch=0 if txn else -1, base_sequence=seq, is_transactional=txn,
    )  # fmt: skip


def _marker(broker: Broker, partition: Partition, pid: int, commit: bool) -> None:
    batch = build_control_batch(commit, pid, 0, coordinator_epoch=0, timestamp=_now())
    partition.log.append_as_leader(batch, partition.leader_epoch, origin=AppendOrigin.COORDINATOR)
    partition.maybe_advance_high_watermark()
    broker.replica_manager.on_append(partition)


async def _write_transactions(broker: Broker, topic: str) -> Partition:
    """0 p0 | 1 a1 (pid 7) | 2 c1 (pid 8) | 3 a2 (pid 7) | 4 c2 (pid 8) | 5 ABORT 7 | 6 COMMIT 8 | 7 p1 |
    8 open (pid 9, no marker yet)."""
    (partition,) = await create_topic(broker, topic)
    client = await AsyncClient.connect(broker)
    writes = [(b"p0", -1, -1), (b"a1", 7, 0), (b"c1", 8, 0), (b"a2", 7, 1), (b"c2", 8, 1)]
    for value, pid, seq in writes:
        answer = produce_answer(await client.request(0, 9, produce_request(topic, _batch(value, pid, seq))))
        assert answer.error_code == 0
    _marker(broker, partition, 7, commit=False)
    _marker(broker, partition, 8, commit=True)
    for value, pid, seq in [(b"p1", -1, -1), (b"open", 9, 0)]:
        await client.request(0, 9, produce_request(topic, _batch(value, pid, seq)))
    await client.close()
    assert (partition.last_stable_offset, partition.high_watermark) == (8, 9)
    return partition


async def _until(collect: Callable[[], list[bytes]], count: int) -> list[bytes]:
    got: list[bytes] = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(got) < count and time.monotonic() < deadline:
        got += await asyncio.to_thread(collect)
    return got


_OPENED: list[Callable[[], object]] = []  # close() of the blocking consumers made by a test


def _kafka_python(bootstrap: str, topic: str, isolation: str) -> Callable[[], list[bytes]]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
        isolation_level=isolation, fetch_max_wait_ms=100, request_timeout_ms=int(TIMEOUT_S * 1000) + 5000,
    )  # fmt: skip
    consumer.assign([KafkaTopicPartition(topic, 0)])
    _OPENED.append(consumer.close)

    def collect() -> list[bytes]:
        return [m.value for batch in consumer.poll(timeout_ms=300).values() for m in batch]

    return collect


def _confluent(bootstrap: str, topic: str, isolation: str) -> Callable[[], list[bytes]]:
    consumer = ConfluentConsumer(
        {
            "bootstrap.servers": bootstrap, "group.id": f"rc-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "isolation.level": isolation, "fetch.wait.max.ms": 100,
        }
    )  # fmt: skip
    consumer.assign([ConfluentTopicPartition(topic, 0, 0)])
    _OPENED.append(consumer.close)

    def collect() -> list[bytes]:
        out: list[bytes] = []
        for message in consumer.consume(num_messages=100, timeout=0.3):
            assert message.error() is None, message.error()
            out.append(message.value() or b"")
        return out

    return collect


async def _kafkajs(bootstrap: str, topic: str, count: int, *extra: str) -> list[bytes]:
    """tests/clients/js/read_committed.js in a node process (while this loop serves the broker)."""
    assert NODE is not None
    proc = await asyncio.create_subprocess_exec(
        NODE, str(JS / "read_committed.js"), bootstrap, topic, f"rc-{uuid.uuid4().hex[:6]}", str(count), *extra,
        cwd=JS, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()
    return [v.encode() for v in json.loads(out.decode().strip().splitlines()[-1])["seen"]]


@pytest.mark.skipif(
    not os.environ.get("CI") and (NODE is None or not (JS / "node_modules" / "kafkajs").is_dir()),
    reason="needs node and kafkajs: `npm ci --prefix tests/clients/js` (make unit does it)",
)
def test_kafkajs_skips_aborted_transactions(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path, **{"group.initial.rebalance.delay.ms": "0"}) as broker:
            bootstrap = f"127.0.0.1:{broker.listeners[0].port}"
            await _write_transactions(broker, "txn-kafkajs")
            assert await _kafkajs(bootstrap, "txn-kafkajs", len(COMMITTED)) == COMMITTED
            everything = await _kafkajs(bootstrap, "txn-kafkajs", len(EVERYTHING), "uncommitted")
            assert everything == EVERYTHING

    asyncio.run(body())


def test_every_client_skips_aborted_transactions_and_waits_for_open_ones(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_broker(tmp_path) as broker:
            bootstrap = f"127.0.0.1:{broker.listeners[0].port}"
            topic = "txn-clients"
            partition = await _write_transactions(broker, topic)

            aio = AIOKafkaConsumer(
                bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
                isolation_level="read_committed", fetch_max_wait_ms=100,
            )  # fmt: skip
            await aio.start()
            try:
                aio.assign([TopicPartition(topic, 0)])
                aio_got: list[bytes] = []
                deadline = time.monotonic() + TIMEOUT_S
                while len(aio_got) < len(COMMITTED) and time.monotonic() < deadline:
                    found = await aio.getmany(timeout_ms=300)
                    aio_got += [m.value for batch in found.values() for m in batch if m.value is not None]
                assert aio_got == COMMITTED, "aiokafka"

                kp = await asyncio.to_thread(_kafka_python, bootstrap, topic, "read_committed")
                assert await _until(kp, len(COMMITTED)) == COMMITTED, "kafka-python"
                cf = await asyncio.to_thread(_confluent, bootstrap, topic, "read_committed")
                assert await _until(cf, len(COMMITTED)) == COMMITTED, "confluent-kafka"
                everything = await asyncio.to_thread(_confluent, bootstrap, topic, "read_uncommitted")
                assert await _until(everything, len(EVERYTHING)) == EVERYTHING, "read_uncommitted"

                # The open transaction commits: each read_committed consumer now gets its record.
                _marker(broker, partition, 9, commit=True)
                assert await _until(kp, 1) == [b"open"]
                assert await _until(cf, 1) == [b"open"]
                found = await aio.getmany(timeout_ms=int(TIMEOUT_S * 1000))
                assert [m.value for batch in found.values() for m in batch] == [b"open"]
            finally:
                await aio.stop()
                while _OPENED:
                    await asyncio.to_thread(_OPENED.pop())

    asyncio.run(body())

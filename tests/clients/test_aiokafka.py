"""aiokafka against the broker: AIOKafkaProducer and AIOKafkaConsumer with manual assignment.

Each test runs its own event loop (``asyncio.run``) under an overall ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.harness import BrokerProcess

TIMEOUT_S = 30.0


def run(body: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(TIMEOUT_S * 2):
            await body()

    asyncio.run(bounded())


async def produce(broker: BrokerProcess, items: list[dict[str, Any]], **config: Any) -> list[Any]:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=int(TIMEOUT_S * 1000), **config)
    await producer.start()
    try:
        futures = [await producer.send(**item) for item in items]
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


async def assigned_consumer(broker: BrokerProcess, tp: TopicPartition) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=200,
        request_timeout_ms=int(TIMEOUT_S * 1000),
    )
    await consumer.start()
    consumer.assign([tp])
    return consumer


async def take(consumer: AIOKafkaConsumer, tp: TopicPartition, count: int) -> list[Any]:
    records: list[Any] = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(records) < count and time.monotonic() < deadline:
        batches = await consumer.getmany(tp, timeout_ms=500)
        records.extend(batches.get(tp, []))
    assert len(records) == count, f"got {len(records)} of {count} records"
    return records


def test_keys_values_headers_null_keys_and_tombstones(module_broker: BrokerProcess, topic: str) -> None:
    sent: list[dict[str, Any]] = [
        {"key": b"k0", "value": b"v0", "headers": [("trace", b"abc"), ("empty", b"")]},
        {"key": None, "value": b"no key"},
        {"key": b"k2", "value": None},
        {"key": b"k3", "value": b"", "headers": [("dup", b"1"), ("dup", b"2")]},
    ]

    async def body() -> None:
        metadata = await produce(module_broker, [{"topic": topic, "partition": 0, **item} for item in sent])
        assert [m.offset for m in metadata] == [0, 1, 2, 3]
        tp = TopicPartition(topic, 0)
        consumer = await assigned_consumer(module_broker, tp)
        try:
            records = await take(consumer, tp, len(sent))
        finally:
            await consumer.stop()
        assert [r.offset for r in records] == [0, 1, 2, 3]
        assert [r.key for r in records] == [item["key"] for item in sent]
        assert [r.value for r in records] == [item["value"] for item in sent]
        assert [list(r.headers) for r in records] == [item.get("headers", []) for item in sent]

    run(body)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_every_codec_round_trips(module_broker: BrokerProcess, topic: str, codec: str) -> None:
    values = [f"{codec}-{i}-".encode() * (i % 5 + 1) for i in range(300)]

    async def body() -> None:
        items = [
            {"topic": topic, "partition": 0, "value": v, "headers": [("i", b"%d" % i)]} for i, v in enumerate(values)
        ]
        metadata = await produce(module_broker, items, compression_type=codec, linger_ms=50)
        assert [m.offset for m in metadata] == list(range(len(values)))
        tp = TopicPartition(topic, 0)
        consumer = await assigned_consumer(module_broker, tp)
        try:
            records = await take(consumer, tp, len(values))
        finally:
            await consumer.stop()
        assert [r.value for r in records] == values
        assert [r.headers[0][1] for r in records] == [b"%d" % i for i in range(len(values))]

    run(body)


def test_send_batch_and_one_mib_value(module_broker: BrokerProcess, topic: str) -> None:
    big = bytes(range(256)) * 4092  # 1 MiB less 1 KiB

    async def body() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=module_broker.bootstrap, max_request_size=2 * 1024 * 1024)
        await producer.start()
        try:
            batch = producer.create_batch()
            for i in range(5):
                assert batch.append(key=None, value=b"in batch %d" % i, timestamp=None) is not None
            batch.close()
            sent = await (await producer.send_batch(batch, topic, partition=0))
            assert sent.offset == 0
            big_sent = await producer.send_and_wait(topic, big, partition=0)
            assert big_sent.offset == 5
        finally:
            await producer.stop()
        tp = TopicPartition(topic, 0)
        consumer = await assigned_consumer(module_broker, tp)
        try:
            records = await take(consumer, tp, 6)
        finally:
            await consumer.stop()
        assert [r.value for r in records[:5]] == [b"in batch %d" % i for i in range(5)]
        assert records[5].value == big

    run(body)


def test_seek_and_positions(module_broker: BrokerProcess, topic: str) -> None:
    async def body() -> None:
        await produce(module_broker, [{"topic": topic, "partition": 0, "value": b"%d" % i} for i in range(10)])
        tp = TopicPartition(topic, 0)
        consumer = await assigned_consumer(module_broker, tp)
        try:
            assert await consumer.beginning_offsets([tp]) == {tp: 0}
            assert await consumer.end_offsets([tp]) == {tp: 10}
            consumer.seek(tp, 6)
            assert [r.offset for r in await take(consumer, tp, 4)] == [6, 7, 8, 9]
            assert await consumer.position(tp) == 10
            await consumer.seek_to_beginning(tp)
            assert [r.value for r in await take(consumer, tp, 10)] == [b"%d" % i for i in range(10)]
            await consumer.seek_to_end(tp)
            assert await consumer.position(tp) == 10
        finally:
            await consumer.stop()

    run(body)


def test_offsets_for_times(module_broker: BrokerProcess, topic: str) -> None:
    base = int(time.time() * 1000) - 3_600_000

    async def body() -> None:
        stamps = [base, base + 10, base + 20]
        items = [{"topic": topic, "partition": 0, "value": b"t", "timestamp_ms": ts} for ts in stamps]
        await produce(module_broker, items)
        tp = TopicPartition(topic, 0)
        consumer = await assigned_consumer(module_broker, tp)
        try:
            found = (await consumer.offsets_for_times({tp: base + 5}))[tp]
            assert (found.offset, found.timestamp) == (1, base + 10)
            assert (await consumer.offsets_for_times({tp: base + 21}))[tp] is None
            records = await take(consumer, tp, 3)
            assert [r.timestamp for r in records] == stamps
        finally:
            await consumer.stop()

    run(body)


def test_getone_waits_for_a_record_produced_later(module_broker: BrokerProcess, topic: str) -> None:
    async def body() -> None:
        await produce(module_broker, [{"topic": topic, "partition": 0, "value": b"first"}])
        tp = TopicPartition(topic, 0)
        consumer = await assigned_consumer(module_broker, tp)
        try:
            assert (await consumer.getone()).value == b"first"
            waiting = asyncio.ensure_future(consumer.getone())
            await asyncio.sleep(0.5)
            assert not waiting.done()
            await produce(module_broker, [{"topic": topic, "partition": 0, "value": b"second"}])
            record = await asyncio.wait_for(waiting, TIMEOUT_S)
            assert (record.offset, record.value) == (1, b"second")
        finally:
            await consumer.stop()

    run(body)


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_every_acks_setting(module_broker: BrokerProcess, topic: str, acks: int | str) -> None:
    async def body() -> None:
        items = [{"topic": topic, "partition": 0, "key": b"k", "value": b"%d" % i} for i in range(10)]
        await produce(module_broker, items, acks=acks)
        tp = TopicPartition(topic, 0)
        consumer = await assigned_consumer(module_broker, tp)
        try:
            assert [r.value for r in await take(consumer, tp, 10)] == [b"%d" % i for i in range(10)]
        finally:
            await consumer.stop()

    run(body)

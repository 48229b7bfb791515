"""Transactions with kafka-python and aiokafka against a real broker process: commit and abort
(markers' offsets skipped by a read_uncommitted consumer), zombie fencing, and offsets sent to a
transaction committed only by its commit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka import errors as aio_errors
from aiokafka.structs import OffsetAndMetadata as AioOffset
from aiokafka.structs import TopicPartition as AioTopicPartition
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kp_errors
from kafka.structs import OffsetAndMetadata

from tests.clients.txn_helpers import OVERRIDES, TIMEOUT_S, describe, make_topic, read
from tests.harness import BrokerProcess


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path_factory.mktemp("txn-python"), OVERRIDES) as process:
        yield process


# -- kafka-python ------------------------------------------------------------------------------------
def kp_producer(broker: BrokerProcess, txn_id: str) -> KafkaProducer:
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=txn_id)
    p.init_transactions()
    return p


def test_kafka_python_commits_and_aborts(broker: BrokerProcess) -> None:
    topic = "txn-kp-basic"
    make_topic(broker, topic)
    p = kp_producer(broker, "kp-basic")
    p.begin_transaction()
    p.send(topic, b"c0")
    p.send(topic, b"c1")
    p.commit_transaction()
    p.begin_transaction()
    p.send(topic, b"a0")
    p.flush()
    p.abort_transaction()
    p.begin_transaction()
    p.send(topic, b"last")
    p.commit_transaction()
    p.close()
    assert read(broker, topic, "read_uncommitted", 4) == [(0, b"c0"), (1, b"c1"), (3, b"a0"), (5, b"last")]
    assert describe(broker, "kp-basic").transaction_state == "CompleteCommit"


def test_kafka_python_zombie_is_fenced(broker: BrokerProcess) -> None:
    topic = "txn-kp-fenced"
    make_topic(broker, topic)
    zombie = kp_producer(broker, "kp-fenced")
    zombie.begin_transaction()
    zombie.send(topic, b"zombie")
    zombie.flush()
    successor = kp_producer(broker, "kp-fenced")
    with pytest.raises((kp_errors.ProducerFencedError, kp_errors.InvalidProducerEpochError)):
        zombie.commit_transaction()
    successor.begin_transaction()
    successor.send(topic, b"successor")
    successor.commit_transaction()
    successor.close()
    zombie.close(timeout=1)
    assert read(broker, topic, "read_uncommitted", 2) == [(0, b"zombie"), (2, b"successor")]


def test_kafka_python_send_offsets_commits_only_on_commit(broker: BrokerProcess) -> None:
    source, group = "txn-kp-source", "kp-ctp-group"
    make_topic(broker, source)
    plain = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i in range(3):
        plain.send(source, b"in%d" % i)
    plain.flush()
    plain.close()
    p = kp_producer(broker, "kp-ctp")
    offsets = {TopicPartition(source, 0): OffsetAndMetadata(3, "", -1)}
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False)
    p.begin_transaction()
    p.send_offsets_to_transaction(offsets, group)
    p.abort_transaction()
    assert consumer.committed(TopicPartition(source, 0)) is None
    p.begin_transaction()
    p.send_offsets_to_transaction(offsets, group)
    p.commit_transaction()
    assert consumer.committed(TopicPartition(source, 0)) == 3
    consumer.close()
    p.close()


# -- aiokafka ----------------------------------------------------------------------------------------
def test_aiokafka_commits_aborts_and_sends_offsets(broker: BrokerProcess) -> None:
    topic, source, group = "txn-aio-basic", "txn-aio-source", "aio-ctp-group"
    make_topic(broker, topic)
    make_topic(broker, source)

    async def scenario() -> int | None:
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="aio-basic")
        await p.start()
        try:
            async with p.transaction():
                await p.send_and_wait(topic, b"c0")
                await p.send_and_wait(topic, b"c1")
            await p.begin_transaction()
            await p.send_and_wait(topic, b"a0")
            await p.abort_transaction()
            async with p.transaction():
                await p.send_and_wait(topic, b"last")
                await p.send_offsets_to_transaction({AioTopicPartition(source, 0): AioOffset(7, "")}, group)
        finally:
            await p.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group)
        await consumer.start()
        try:
            committed: int | None = await consumer.committed(AioTopicPartition(source, 0))
            return committed
        finally:
            await consumer.stop()

    assert asyncio.run(scenario()) == 7
    assert read(broker, topic, "read_uncommitted", 4) == [(0, b"c0"), (1, b"c1"), (3, b"a0"), (5, b"last")]


def test_aiokafka_zombie_is_fenced(broker: BrokerProcess) -> None:
    topic = "txn-aio-fenced"
    make_topic(broker, topic)

    async def scenario() -> None:
        zombie = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="aio-fenced")
        successor = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="aio-fenced")
        await zombie.start()
        try:
            await zombie.begin_transaction()
            await zombie.send_and_wait(topic, b"zombie")
            await successor.start()
            with pytest.raises((aio_errors.ProducerFenced, aio_errors.InvalidProducerEpoch)):
                await zombie.commit_transaction()
            async with successor.transaction():
                await successor.send_and_wait(topic, b"successor")
        finally:
            await successor.stop()
            await zombie.stop()

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_S * 2))
    assert read(broker, topic, "read_uncommitted", 2) == [(0, b"zombie"), (2, b"successor")]

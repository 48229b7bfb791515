"""Large reads and big creations through a real broker: consumers get back exactly what was produced
across many small segments (answers sent with sendfile), and creating many partitions neither stalls
other clients nor shows a half-made topic."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import confluent_kafka as ck
import pytest
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic  # type: ignore[attr-defined]
from kafka import KafkaConsumer, TopicPartition

from tests.harness import BrokerProcess

TIMEOUT_S = 30
RECORDS = 3000


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(Path(tmp_path_factory.mktemp("large"))) as process:
        yield process


def value(i: int) -> bytes:
    return (f"{i:08d}-".encode() * 128)[: 700 + i % 600]


@pytest.fixture(scope="module")
def rolled_topic(broker: BrokerProcess) -> str:
    """A topic of 100 KB segments holding RECORDS records of 700-1300 bytes (about 30 segments)."""
    topic = "rolled"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1, config={"segment.bytes": "100000"})])[topic].result(TIMEOUT_S)
    producer = ck.Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "batch.size": 32768})
    for i in range(RECORDS):
        producer.produce(topic, value(i), key=str(i).encode(), partition=0)
        producer.poll(0)
    assert producer.flush(TIMEOUT_S) == 0
    segments = list((broker.log_dir / f"{topic}-0").glob("*.log"))
    assert len(segments) > 10, "the data spans many segments"
    return topic


def test_confluent_consumer_reads_back_exactly_what_was_produced(broker: BrokerProcess, rolled_topic: str) -> None:
    consumer = ck.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "large", "enable.auto.commit": False})
    consumer.assign([ck.TopicPartition(rolled_topic, 0, 0)])
    got: list[tuple[int | None, bytes | None, bytes | None]] = []
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while len(got) < RECORDS and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 1.0):
                assert msg.error() is None, msg.error()
                got.append((msg.offset(), msg.key(), msg.value()))
    finally:
        consumer.close()
    assert got == [(i, str(i).encode(), value(i)) for i in range(RECORDS)]


def test_kafka_python_consumer_reads_back_exactly_what_was_produced(broker: BrokerProcess, rolled_topic: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, consumer_timeout_ms=5000, fetch_max_bytes=4 << 20)
    tp = TopicPartition(rolled_topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    try:
        got = [(m.offset, m.key, m.value) for m, _ in zip(consumer, range(RECORDS), strict=False)]
    finally:
        consumer.close()
    assert got == [(i, str(i).encode(), value(i)) for i in range(RECORDS)]


def test_creating_many_partitions_keeps_metadata_answering(broker: BrokerProcess) -> None:
    """While 200 partitions are made, another client keeps getting Metadata answers, and the topic
    appears only with all of its partitions."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    watcher = AdminClient({"bootstrap.servers": broker.bootstrap})
    watcher.list_topics(timeout=TIMEOUT_S)  # connected before the creation starts
    seen_counts: list[int] = []
    answers = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal answers
        while not done.is_set():
            md = watcher.list_topics(timeout=TIMEOUT_S)
            answers += 1
            topic = md.topics.get("wide")
            if topic is not None and topic.error is None:
                seen_counts.append(len(topic.partitions))

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        while answers == 0:  # the watcher is going
            time.sleep(0.01)
        before = answers
        admin.create_topics([NewTopic("wide", 200, 1)])["wide"].result(TIMEOUT_S)
        answered_during_creation = answers - before
    finally:
        done.set()
        thread.join(TIMEOUT_S)
    # A loop blocked by the creation answers only the few requests sent around its start and end
    # (3 when this was so); an event loop left free answers hundreds.
    assert answered_during_creation >= 20
    assert set(seen_counts) <= {200}, "the topic is never seen half made"
    assert len(watcher.list_topics("wide", timeout=TIMEOUT_S).topics["wide"].partitions) == 200


def test_partitions_added_to_a_topic_take_writes(broker: BrokerProcess) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("grown", 2, 1)])["grown"].result(TIMEOUT_S)
    admin.create_partitions([NewPartitions("grown", 40)])["grown"].result(TIMEOUT_S)
    producer = ck.Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    errors: list[object] = []
    for p in range(40):
        producer.produce("grown", b"v", partition=p, on_delivery=lambda err, _msg: errors.append(err))
    assert producer.flush(TIMEOUT_S) == 0
    assert errors == [None] * 40


@pytest.mark.parametrize("buffer_bytes", ["4096", "-1"])
def test_socket_buffer_settings_still_move_large_batches_intact(tmp_path: Path, buffer_bytes: str) -> None:
    """socket.send/receive.buffer.bytes as Kafka applies them (4 KiB: every 1 MiB answer goes out in
    hundreds of partial sendfile calls; -1: the OS's own sizing): what was produced comes back exactly."""
    overrides = {"socket.send.buffer.bytes": buffer_bytes, "socket.receive.buffer.bytes": buffer_bytes}
    with BrokerProcess(tmp_path, overrides) as process:
        admin = AdminClient({"bootstrap.servers": process.bootstrap})
        admin.create_topics([NewTopic("buffers", 1, 1)])["buffers"].result(TIMEOUT_S)
        producer = ck.Producer({"bootstrap.servers": process.bootstrap, "linger.ms": 20, "batch.size": 1 << 20})
        count = 2000
        for i in range(count):
            producer.produce("buffers", value(i), partition=0)
        assert producer.flush(TIMEOUT_S) == 0
        consumer = ck.Consumer({"bootstrap.servers": process.bootstrap, "group.id": "b", "enable.auto.commit": False})
        consumer.assign([ck.TopicPartition("buffers", 0, 0)])
        got: list[bytes | None] = []
        deadline = time.monotonic() + TIMEOUT_S
        try:
            while len(got) < count and time.monotonic() < deadline:
                for msg in consumer.consume(1000, 1.0):
                    assert msg.error() is None, msg.error()
                    got.append(msg.value())
        finally:
            consumer.close()
    assert got == [value(i) for i in range(count)]

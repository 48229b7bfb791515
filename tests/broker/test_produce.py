"""Produce with kafka-python and confluent-kafka, and read it all back with partition-assigned
consumers (no consumer group): acks, keys, headers, tombstones, codecs, large messages, errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import confluent_kafka as ck
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import MessageSizeTooLargeError

from tests.harness import BrokerProcess

MAX_MESSAGE_BYTES = 1_100_000  # room for a 1 MiB value
CODECS = ["gzip", "snappy", "lz4", "zstd"]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    overrides = {"message.max.bytes": str(MAX_MESSAGE_BYTES)}
    with BrokerProcess(Path(tmp_path_factory.mktemp("produce")), overrides) as process:
        yield process


def topic_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def consume_all(broker: BrokerProcess, topic: str, expected: int, **config: Any) -> list[Any]:
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        enable_auto_commit=False,
        consumer_timeout_ms=10000,
        **config,
    )
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    out = []
    for message in consumer:
        out.append(message)
        if len(out) >= expected:
            break
    consumer.close()
    return out


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_kafka_python_acks_and_read_back_in_order(broker: BrokerProcess, acks: int | str) -> None:
    topic = topic_name("kp-acks")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=acks, linger_ms=0)
    futures = [producer.send(topic, key=b"key", value=f"value-{i}".encode()) for i in range(20)]
    metadata = [f.get(timeout=10) for f in futures]
    producer.close()
    if acks != 0:  # acks=0 gets no offsets back (kafka-python reports -1)
        assert [m.offset for m in metadata] == list(range(20))
    messages = consume_all(broker, topic, 20)
    assert [(m.offset, m.value) for m in messages] == [(i, f"value-{i}".encode()) for i in range(20)]


def test_kafka_python_keys_headers_null_keys_and_tombstones(broker: BrokerProcess) -> None:
    topic = topic_name("kp-shapes")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=1)
    producer.send(topic, key=b"k1", value=b"v1", headers=[("h1", b"a"), ("h2", b"")]).get(10)
    producer.send(topic, key=None, value=b"no key").get(10)
    producer.send(topic, key=b"gone", value=None).get(10)
    producer.send(topic, key=b"", value=b"").get(10)
    producer.close()
    messages = consume_all(broker, topic, 4)
    assert [(m.key, m.value, m.headers) for m in messages] == [
        (b"k1", b"v1", [("h1", b"a"), ("h2", b"")]),
        (None, b"no key", []),
        (b"gone", None, []),
        (b"", b"", []),
    ]


@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python_every_codec(broker: BrokerProcess, codec: str) -> None:
    topic = topic_name(f"kp-{codec}")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type=codec, linger_ms=50)
    for i in range(50):
        producer.send(topic, value=f"{codec}-{i}".encode() * 10)
    producer.flush(10)
    producer.close()
    messages = consume_all(broker, topic, 50)
    assert [m.value for m in messages] == [f"{codec}-{i}".encode() * 10 for i in range(50)]
    assert [m.offset for m in messages] == list(range(50))


def test_one_mebibyte_message_round_trips(broker: BrokerProcess) -> None:
    topic = topic_name("kp-big")
    value = bytes(range(256)) * 4096  # 1 MiB
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, max_request_size=4 << 20)
    assert producer.send(topic, value=value).get(10).offset == 0
    producer.send(topic, value=b"after").get(10)
    producer.close()
    # max_partition_fetch_bytes is smaller than the message: KIP-74 hands it over anyway.
    messages = consume_all(broker, topic, 2, max_partition_fetch_bytes=1000)
    assert [m.value for m in messages] == [value, b"after"]


def test_kafka_python_message_too_large(broker: BrokerProcess) -> None:
    topic = topic_name("kp-too-large")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, max_request_size=8 << 20, retries=0)
    with pytest.raises(MessageSizeTooLargeError):
        producer.send(topic, value=b"x" * (MAX_MESSAGE_BYTES + 1000)).get(10)
    assert producer.send(topic, value=b"small").get(10).offset == 0
    producer.close()


def confluent_deliveries(
    broker: BrokerProcess, topic: str, config: dict[str, Any], messages: list[dict[str, Any]]
) -> list[Any]:
    reports: list[Any] = []
    producer = ck.Producer({"bootstrap.servers": broker.bootstrap, **config})
    for message in messages:
        producer.produce(topic, on_delivery=lambda err, msg: reports.append((err, msg)), **message)
    assert producer.flush(15) == 0
    return reports


def confluent_consume(broker: BrokerProcess, topic: str, count: int) -> list[Any]:
    consumer = ck.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.auto.commit": False})
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    out: list[Any] = []
    for _ in range(30):
        if len(out) >= count:
            break
        for message in consumer.consume(count - len(out), timeout=1):
            assert message.error() is None, message.error()
            out.append(message)
    consumer.close()
    return out


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_confluent_acks(broker: BrokerProcess, acks: str) -> None:
    topic = topic_name("ck-acks")
    reports = confluent_deliveries(broker, topic, {"acks": acks}, [{"value": f"v{i}".encode()} for i in range(10)])
    assert [err for err, _ in reports] == [None] * 10
    if acks != "0":
        assert [msg.offset() for _, msg in reports] == list(range(10))
    assert [m.value() for m in confluent_consume(broker, topic, 10)] == [f"v{i}".encode() for i in range(10)]


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_codecs_keys_headers_tombstones(broker: BrokerProcess, codec: str) -> None:
    topic = topic_name(f"ck-{codec}")
    sent: list[dict[str, Any]] = [
        {"key": b"k", "value": b"v" * 100, "headers": [("h", b"1")]},
        {"key": None, "value": b"no key"},
        {"key": b"dead", "value": None},
    ]
    reports = confluent_deliveries(broker, topic, {"compression.type": codec, "linger.ms": 20}, sent)
    assert [err for err, _ in reports] == [None, None, None]
    got = confluent_consume(broker, topic, 3)
    assert [(m.key(), m.value(), m.headers()) for m in got] == [
        (b"k", b"v" * 100, [("h", b"1")]),
        (None, b"no key", None),
        (b"dead", None, None),
    ]


def test_confluent_message_too_large(broker: BrokerProcess) -> None:
    topic = topic_name("ck-too-large")
    reports = confluent_deliveries(
        broker, topic, {"message.max.bytes": 8 << 20, "retries": 0}, [{"value": b"x" * (MAX_MESSAGE_BYTES + 1000)}]
    )
    assert reports[0][0].code() == ck.KafkaError.MSG_SIZE_TOO_LARGE

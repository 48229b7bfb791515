"""confluent-kafka (librdkafka) against the broker: Producer and Consumer with manual assignment.

tests/broker/test_produce.py already covers acks, codecs, keys, tombstones and MESSAGE_TOO_LARGE with
this client; here: header edge cases, a ~1 MiB value, ordering, the idempotent producer, the
consumer's offset API (offsets_for_times, watermarks, seek) and metadata.

librdkafka picks its request versions from the broker's ApiVersions answer and turns features on by
the overlap, so these tests exercise the version ranges we advertise as much as the data path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, Producer, TopicPartition

from tests.harness import BrokerProcess

TIMEOUT_S = 30.0
BIG = 1024 * 1024 - 1024


def make_producer(broker: BrokerProcess, **config: Any) -> Producer:
    return Producer({"bootstrap.servers": broker.bootstrap, "message.timeout.ms": int(TIMEOUT_S * 1000), **config})


def produce_all(producer: Producer, topic: str, items: list[dict[str, Any]]) -> list[Message]:
    """Produce and wait for every delivery report; returns them in send order."""
    reports: list[tuple[int, Message]] = []

    def delivered(index: int) -> Any:
        return lambda err, msg: reports.append((index, msg))

    for i, item in enumerate(items):
        producer.produce(topic, on_delivery=delivered(i), **item)
        producer.poll(0)
    assert producer.flush(TIMEOUT_S) == 0
    reports.sort(key=lambda pair: pair[0])
    return [msg for _, msg in reports]


def delivered_ok(producer: Producer, topic: str, items: list[dict[str, Any]]) -> list[int | None]:
    messages = produce_all(producer, topic, items)
    assert [m.error() for m in messages] == [None] * len(items)
    return [m.offset() for m in messages]


@pytest.fixture
def consumer(module_broker: BrokerProcess) -> Iterator[Consumer]:
    c = Consumer(
        {
            "bootstrap.servers": module_broker.bootstrap,
            "group.id": "kafkish-tests-manual-assignment",  # required by the client; never joined
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 200,
        }
    )
    yield c
    c.close()


def consume(consumer: Consumer, count: int) -> list[Message]:
    messages: list[Message] = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(messages) < count and time.monotonic() < deadline:
        for msg in consumer.consume(count - len(messages), timeout=0.5):
            error = msg.error()
            if error is None:
                messages.append(msg)
            else:
                assert error.code() == KafkaError._PARTITION_EOF, error
    assert len(messages) == count, f"got {len(messages)} of {count} messages"
    return messages


def test_headers_edge_cases(module_broker: BrokerProcess, consumer: Consumer, topic: str) -> None:
    """Repeated header keys keep their order, empty and null header values survive, many headers fit."""
    many = [(f"h{i}", b"%d" % i) for i in range(100)]
    sent: list[dict[str, Any]] = [
        {"key": b"k0", "value": b"v0", "headers": [("dup", b"1"), ("dup", b"2"), ("dup", b"3")]},
        {"key": b"k1", "value": b"v1", "headers": [("empty", b""), ("null", None)]},
        {"key": b"k2", "value": b"v2", "headers": {"from": b"dict"}},
        {"key": b"k3", "value": b"v3", "headers": many},
        {"key": None, "value": None, "headers": [("only", b"headers")]},
    ]
    producer = make_producer(module_broker, **{"linger.ms": 20})
    assert delivered_ok(producer, topic, sent) == [0, 1, 2, 3, 4]
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    messages = consume(consumer, len(sent))
    assert [m.headers() for m in messages] == [
        [("dup", b"1"), ("dup", b"2"), ("dup", b"3")],
        [("empty", b""), ("null", None)],
        [("from", b"dict")],
        many,
        [("only", b"headers")],
    ]
    assert [(m.key(), m.value()) for m in messages[-1:]] == [(None, None)]


def test_one_mib_value(module_broker: BrokerProcess, consumer: Consumer, topic: str) -> None:
    value = os.urandom(BIG)
    producer = make_producer(module_broker, **{"message.max.bytes": 2 * 1024 * 1024})
    assert delivered_ok(producer, topic, [{"key": b"big", "value": value}]) == [0]
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    [message] = consume(consumer, 1)
    assert message.value() == value


def test_ordering_within_a_partition(module_broker: BrokerProcess, consumer: Consumer, topic: str) -> None:
    count = 5000
    producer = make_producer(module_broker, **{"linger.ms": 5, "batch.num.messages": 100})
    assert delivered_ok(producer, topic, [{"value": b"%d" % i} for i in range(count)]) == list(range(count))
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    messages = consume(consumer, count)
    assert [int(m.value() or b"") for m in messages] == list(range(count))


def test_idempotent_producer(module_broker: BrokerProcess, consumer: Consumer, topic: str) -> None:
    producer = make_producer(module_broker, **{"enable.idempotence": True, "linger.ms": 5})
    assert delivered_ok(producer, topic, [{"value": b"%d" % i} for i in range(100)]) == list(range(100))
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    assert [m.value() for m in consume(consumer, 100)] == [b"%d" % i for i in range(100)]


def test_offsets_for_times_watermarks_and_seek(module_broker: BrokerProcess, consumer: Consumer, topic: str) -> None:
    base = int(time.time() * 1000) - 600_000
    stamps = [base + 100 * i for i in range(10)]
    producer = make_producer(module_broker)
    delivered_ok(producer, topic, [{"value": b"%d" % i, "timestamp": ts} for i, ts in enumerate(stamps)])

    assert consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S) == (0, 10)
    [found] = consumer.offsets_for_times([TopicPartition(topic, 0, base + 250)], timeout=TIMEOUT_S)
    assert found.error is None
    assert found.offset == 3
    [past_the_end] = consumer.offsets_for_times([TopicPartition(topic, 0, base + 10_000)], timeout=TIMEOUT_S)
    assert past_the_end.offset == -1  # no such record: the end, as librdkafka reports it

    consumer.assign([TopicPartition(topic, 0, found.offset)])
    messages = consume(consumer, 7)
    assert [m.offset() for m in messages] == list(range(3, 10))
    assert [m.timestamp()[1] for m in messages] == stamps[3:]
    consumer.seek(TopicPartition(topic, 0, 1))
    assert [m.value() for m in consume(consumer, 2)] == [b"1", b"2"]


def test_metadata_lists_the_topic_and_the_broker(module_broker: BrokerProcess, topic: str) -> None:
    producer = make_producer(module_broker)
    delivered_ok(producer, topic, [{"value": b"x"}])
    metadata = producer.list_topics(topic, timeout=TIMEOUT_S)
    assert list(metadata.topics[topic].partitions) == [0]
    assert metadata.topics[topic].error is None
    assert [(b.host, b.port) for b in metadata.brokers.values()] == [("127.0.0.1", module_broker.port)]
    assert metadata.controller_id == 0

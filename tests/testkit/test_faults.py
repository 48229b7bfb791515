"""Fault injection as applications see it: real clients (confluent-kafka, kafka-python, aiokafka) against a
real broker started with ``kafkish.fault.injection.enable=true``, the faults injected through
``broker.faults`` (the HTTP endpoint) and through the ``kafkish faults`` command."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, Producer

from kafkish.testing import Broker, BrokerError, check_delivery
from kafkish.testing._admin import create_topic
from tests.testkit.cli import kafkish


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    with Broker(faults=True) as broker:
        yield broker


@pytest.fixture
def topic(broker: Broker) -> Iterator[str]:
    name = f"faults-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap_servers, name, partitions=1)
    yield name
    broker.faults.clear()


def _read(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[bytes | None]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    values: list[bytes | None] = []
    deadline = time.monotonic() + timeout
    while len(values) < count and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            values.append(message.value())
    consumer.close()
    return values


def test_fault_injection_is_off_unless_enabled() -> None:
    with Broker() as plain:
        with pytest.raises(BrokerError, match="fault injection is off"):
            plain.faults.list()
        assert "fault injection endpoint" not in plain.log_text()


def test_a_producer_retries_through_not_leader_or_follower_and_succeeds(broker: Broker, topic: str) -> None:
    broker.faults.inject(api="Produce", error="NOT_LEADER_OR_FOLLOWER", count=3, topic=topic)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "retry.backoff.ms": 50, "linger.ms": 0})
    reports: list[tuple[KafkaError | None, bytes | None]] = []
    producer.produce(topic, value=b"one", on_delivery=lambda err, msg: reports.append((err, msg.value())))
    assert producer.flush(30) == 0
    assert reports == [(None, b"one")]
    assert broker.faults.list() == []  # all three uses spent, by the producer's retries
    check_delivery([b"one"], _read(broker.bootstrap_servers, topic, 1)).assert_ok()  # appended once


def test_a_non_retriable_error_reaches_the_application(broker: Broker, topic: str) -> None:
    broker.faults.inject(api="Produce", error="TOPIC_AUTHORIZATION_FAILED", count=1, topic=topic)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    errors: list[KafkaError | None] = []
    producer.produce(topic, value=b"x", on_delivery=lambda err, msg: errors.append(err))
    producer.flush(30)
    assert len(errors) == 1 and errors[0] is not None
    assert errors[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert not errors[0].retriable()


def test_a_consumer_waits_out_a_delayed_fetch(broker: Broker, topic: str) -> None:
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    producer.produce(topic, value=b"late")
    assert producer.flush(30) == 0
    broker.faults.inject(api="Fetch", delay_ms=2000, count=1, topic=topic)
    started = time.monotonic()
    assert _read(broker.bootstrap_servers, topic, 1) == [b"late"]
    assert time.monotonic() - started >= 2.0  # a lower bound: the delayed answer came first
    assert broker.faults.list() == []


def test_kafka_python_reconnects_after_a_dropped_connection(broker: Broker, topic: str) -> None:
    from kafka import KafkaProducer

    broker.faults.inject(api="Produce", drop=True, count=1, topic=topic)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, retries=5, retry_backoff_ms=100)
    try:
        metadata = producer.send(topic, b"after-drop").get(timeout=30)
    finally:
        producer.close(5)
    assert metadata.offset == 0
    assert broker.faults.list() == []  # the drop was used
    assert "fault injection: dropped at a Produce request" in broker.log_text()
    check_delivery([b"after-drop"], _read(broker.bootstrap_servers, topic, 1)).assert_ok()


def test_aiokafka_sees_an_injected_list_offsets_error(broker: Broker, topic: str) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.errors import KafkaError as AioKafkaError

    broker.faults.inject(api="ListOffsets", error="UNKNOWN_SERVER_ERROR", topic=topic, partition=0)

    async def end_offsets() -> object:
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=5000)
        await consumer.start()
        try:
            return await consumer.end_offsets([TopicPartition(topic, 0)])
        finally:
            await consumer.stop()

    with pytest.raises(AioKafkaError) as raised:
        asyncio.run(end_offsets())
    assert "UnknownError" in type(raised.value).__name__ or "UNKNOWN" in str(raised.value).upper()
    applied = broker.faults.list()[0]["applied"]
    assert applied >= 1
    broker.faults.clear()
    assert asyncio.run(end_offsets()) == {TopicPartition(topic, 0): 0}


def test_the_kafkish_faults_command(broker: Broker, topic: str) -> None:
    endpoint = ("faults", "--endpoint", broker.faults.url)
    added = kafkish(*endpoint, "inject", "--api", "Metadata", "--error", "7", "--count", "2", "--topic", topic)
    assert added.code == 0, added.stderr
    rule = json.loads(added.stdout)
    assert (rule["api_key"], rule["error_code"], rule["remaining"], rule["topic"]) == (3, 7, 2, topic)
    listed = json.loads(kafkish(*endpoint, "list").stdout)
    assert [r["id"] for r in listed] == [rule["id"]]
    bad = kafkish(*endpoint, "inject", "--api", "Produce", "--error", "NO_SUCH_ERROR")
    assert bad.code == 1 and "unknown Kafka error code 'NO_SUCH_ERROR'" in bad.stderr
    assert json.loads(kafkish(*endpoint, "clear").stdout) == {"removed": 1}


FIXTURE = """
from confluent_kafka import KafkaError, Producer


def test_inject(kafka_faults, kafka_broker, kafka_topic):
    topic = kafka_topic()
    kafka_faults.inject(api="Produce", error="INVALID_REQUIRED_ACKS", topic=topic)
    errors = []
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap_servers})
    producer.produce(topic, b"x", on_delivery=lambda err, msg: errors.append(err.code()))
    producer.flush(30)
    assert errors == [KafkaError.INVALID_REQUIRED_ACKS]


def test_rules_are_cleared_between_tests(kafka_faults):
    assert kafka_faults.list() == []
"""


def test_the_kafka_faults_fixture(pytester: pytest.Pytester) -> None:
    from tests.testkit.test_plugin import PLUGIN

    pytester.makepyfile(test_fixture_sample=FIXTURE)
    pytester.runpytest(*PLUGIN).assert_outcomes(passed=2)


def test_a_partition_rule_fails_that_partition_and_appends_to_the_others(broker: Broker) -> None:
    name = f"faults-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap_servers, name, partitions=2)
    rule = broker.faults.inject(api="Produce", error="TOPIC_AUTHORIZATION_FAILED", topic=name, partition=1)
    assert (rule["api"], rule["error"]) == ("Produce", "TOPIC_AUTHORIZATION_FAILED")
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 50})
    outcome: dict[int | None, int | None] = {}
    for partition in (0, 1):
        producer.produce(
            name, value=b"p%d" % partition, partition=partition,
            on_delivery=lambda err, msg: outcome.__setitem__(msg.partition(), None if err is None else err.code()),
        )  # fmt: skip
    producer.flush(30)
    broker.faults.clear()
    assert outcome == {0: None, 1: KafkaError.TOPIC_AUTHORIZATION_FAILED}
    assert _read(broker.bootstrap_servers, name, 1) == [b"p0"]


def test_a_metadata_error_names_the_topic(broker: Broker, topic: str) -> None:
    from confluent_kafka.admin import AdminClient

    broker.faults.inject(api="Metadata", error="LEADER_NOT_AVAILABLE", topic=topic)  # librdkafka retries it
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    error = admin.list_topics(topic, timeout=10).topics[topic].error
    assert error is not None and error.code() == KafkaError.LEADER_NOT_AVAILABLE
    assert broker.faults.clear() == 1
    assert admin.list_topics(topic, timeout=10).topics[topic].error is None

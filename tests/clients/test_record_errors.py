"""Produce v8+ record errors (KIP-467) as librdkafka sees them: a batch refused with INVALID_RECORD
names its offending records, so confluent-kafka reports INVALID_RECORD with the broker's reason on
those records only, and the rest of the batch fails as collateral (``_INVALID_DIFFERENT_RECORD``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from protocol.errors import ErrorCode
from protocol.records import Record, build_batch
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path_factory.mktemp("record-errors")) as process:
        yield process


def compacted_topic(broker: BrokerProcess, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    futures = admin.create_topics([NewTopic(name, 1, 1, config={"cleanup.policy": "compact"})])
    futures[name].result(TIMEOUT_S)


def produce_in_one_batch(broker: BrokerProcess, topic: str, keys: list[bytes | None]) -> list[Message]:
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap, "linger.ms": 500, "message.timeout.ms": int(TIMEOUT_S * 1000)}
    )
    reports: dict[int, Message] = {}

    def delivered(index: int) -> Any:
        return lambda err, msg: reports.__setitem__(index, msg)

    for i, key in enumerate(keys):
        producer.produce(topic, value=b"v%d" % i, key=key, partition=0, on_delivery=delivered(i))
    assert producer.flush(TIMEOUT_S) == 0
    return [reports[i] for i in range(len(keys))]


def test_only_the_records_without_a_key_fail_as_invalid_on_a_compacted_topic(broker: BrokerProcess) -> None:
    compacted_topic(broker, "compacted-record-errors")
    messages = produce_in_one_batch(broker, "compacted-record-errors", [b"a", None, b"c", None])
    errors = [m.error() for m in messages]
    assert all(e is not None for e in errors)
    codes = [e.code() for e in errors]  # type: ignore[union-attr]
    assert codes == [
        KafkaError._INVALID_DIFFERENT_RECORD,
        KafkaError.INVALID_RECORD,
        KafkaError._INVALID_DIFFERENT_RECORD,
        KafkaError.INVALID_RECORD,
    ]
    # Before: every record failed with INVALID_RECORD (the answer named none).


def test_the_answer_names_each_record_without_a_key_with_kafkas_message(broker: BrokerProcess) -> None:
    # What librdkafka reads: record_errors (batch index, message) and the partition's error_message.
    compacted_topic(broker, "compacted-raw")
    now = int(time.time() * 1000)
    records = [Record(i, now, key, b"v", []) for i, key in enumerate([b"a", None, b"c", None])]
    client = RawClient(broker)
    try:
        for version in (8, 11):
            answer = client.produce("compacted-raw", build_batch(records, base_offset=0), version=version)
            partition = answer.responses[0].partition_responses[0]
            assert partition.error_code == ErrorCode.INVALID_RECORD
            message = "Compacted topic cannot accept message without key in topic partition compacted-raw-0."
            assert [(e.batch_index, e.batch_index_error_message) for e in partition.record_errors] == [
                (1, message),
                (3, message),
            ]
            assert partition.error_message is not None
            assert "2 record errors in total" in partition.error_message
        assert client.latest_offset("compacted-raw") == 0  # nothing of the batch was written
    finally:
        client.close()


def test_a_batch_of_keyed_records_is_written(broker: BrokerProcess) -> None:
    compacted_topic(broker, "compacted-keyed")
    messages = produce_in_one_batch(broker, "compacted-keyed", [b"a", b"b"])
    assert [m.error() for m in messages] == [None, None]
    assert [m.offset() for m in messages] == [0, 1]

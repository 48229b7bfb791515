"""DeleteRecords with both clients' admin APIs: the log start offset moves, reads below it fail."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import confluent_kafka as ck
import pytest
from confluent_kafka.admin import AdminClient
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition

from protocol.errors import ErrorCode
from protocol.messages.delete_records import (
    DeleteRecordsPartition,
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    DeleteRecordsTopic,
)
from tests.harness import BrokerProcess
from tests.raw_client import RawClient, values_in


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(Path(tmp_path_factory.mktemp("delete-records"))) as process:
        yield process


def topic_with(broker: BrokerProcess, count: int) -> str:
    topic = f"del-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
    for i in range(count):
        producer.send(topic, value=f"m{i}".encode()).get(10)
    producer.close()
    return topic


def delete(client: RawClient, topic: str, offset: int) -> Any:
    body = DeleteRecordsRequest(
        topics=[DeleteRecordsTopic(name=topic, partitions=[DeleteRecordsPartition(partition_index=0, offset=offset)])],
        timeout_ms=5000,
    )
    response: DeleteRecordsResponse = client.request(21, 2, body)
    return response.topics[0].partitions[0]


def test_confluent_delete_records_moves_the_low_watermark(broker: BrokerProcess) -> None:
    topic = topic_with(broker, 10)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    futures = admin.delete_records([ck.TopicPartition(topic, 0, 4)], request_timeout=10)
    result = futures[ck.TopicPartition(topic, 0, 4)].result(10)
    assert result.low_watermark == 4
    client = RawClient(broker)
    below = client.fetch(topic, 2).responses[0].partitions[0]
    at = client.fetch(topic, 4).responses[0].partitions[0]
    client.close()
    assert below.error_code == ErrorCode.OFFSET_OUT_OF_RANGE
    assert at.log_start_offset == 4
    assert values_in(at.records)[0] == b"m4"


def test_kafka_python_delete_records_up_to_the_high_watermark(broker: BrokerProcess) -> None:
    topic = topic_with(broker, 5)
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    result = admin.delete_records({TopicPartition(topic, 0): -1})
    admin.close()
    assert result[TopicPartition(topic, 0)]["low_watermark"] == 5
    client = RawClient(broker)
    assert client.fetch(topic, 5).responses[0].partitions[0].log_start_offset == 5
    client.close()


def test_errors(broker: BrokerProcess) -> None:
    topic = topic_with(broker, 3)
    client = RawClient(broker)
    above = delete(client, topic, 4)
    unknown = delete(client, "del-never-created", 1)
    client.close()
    assert (above.error_code, above.low_watermark) == (ErrorCode.OFFSET_OUT_OF_RANGE, -1)
    assert unknown.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION

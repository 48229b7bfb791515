"""ListOffsets and OffsetForLeaderEpoch: earliest, latest, by time and seek, max timestamp, v0, errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import confluent_kafka as ck
import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._listoffsets import OffsetSpec
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from protocol.errors import ErrorCode
from protocol.messages.list_offsets import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopic,
)
from protocol.messages.offset_for_leader_epoch import (
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
    OffsetForLeaderPartition,
    OffsetForLeaderTopic,
)
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

BASE_MS = 1_700_000_000_000


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(Path(tmp_path_factory.mktemp("list-offsets"))) as process:
        yield process


@pytest.fixture(scope="module")
def timed_topic(broker: BrokerProcess) -> str:
    """Ten records at BASE_MS + 1000 * i, except that record 7 carries the largest timestamp."""
    topic = f"timed-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
    for i in range(10):
        stamp = BASE_MS + (99_000 if i == 7 else 1000 * i)
        producer.send(topic, value=f"r{i}".encode(), timestamp_ms=stamp).get(10)
    producer.close()
    return topic


def list_offsets(client: RawClient, topic: str, *timestamps: int, version: int = 7, isolation: int = 0) -> list[Any]:
    """One request naming partition 0 once per timestamp (more than once is a duplicate: INVALID_REQUEST)."""
    wanted = [ListOffsetsPartition(partition_index=0, timestamp=t, max_num_offsets=10) for t in timestamps]
    body = ListOffsetsRequest(
        replica_id=-1, isolation_level=isolation, topics=[ListOffsetsTopic(name=topic, partitions=wanted)]
    )
    response: ListOffsetsResponse = client.request(2, version, body)
    return list(response.topics[0].partitions)


def one(client: RawClient, topic: str, timestamp: int, version: int = 7, isolation: int = 0) -> Any:
    return list_offsets(client, topic, timestamp, version=version, isolation=isolation)[0]


def test_kafka_python_offsets_for_times_and_seek(broker: BrokerProcess, timed_topic: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False, consumer_timeout_ms=5000)
    tp = TopicPartition(timed_topic, 0)
    consumer.assign([tp])
    found = consumer.offsets_for_times({tp: BASE_MS + 4500})[tp]
    assert (found.offset, found.timestamp) == (5, BASE_MS + 5000)
    assert consumer.offsets_for_times({tp: BASE_MS + 200_000})[tp] is None
    assert consumer.beginning_offsets([tp])[tp] == 0
    assert consumer.end_offsets([tp])[tp] == 10
    consumer.seek(tp, found.offset)
    assert next(consumer).value == b"r5"
    consumer.close()


def test_confluent_list_offsets_by_time_and_max_timestamp(broker: BrokerProcess, timed_topic: str) -> None:
    # AdminClient, not a Consumer: confluent-kafka's Consumer needs a group.id, and librdkafka then
    # sends FindCoordinator even when partitions are only assigned (consumer groups are a later issue).
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    tp = ck.TopicPartition(timed_topic, 0)
    specs = {
        "time": OffsetSpec.for_timestamp(BASE_MS + 2000),
        "earliest": OffsetSpec.earliest(),  # type: ignore[no-untyped-call]
        "latest": OffsetSpec.latest(),  # type: ignore[no-untyped-call]
        "max": OffsetSpec.max_timestamp(),  # type: ignore[no-untyped-call]
    }
    results = {name: admin.list_offsets({tp: spec}, request_timeout=10)[tp].result(10) for name, spec in specs.items()}
    assert (results["time"].offset, results["time"].timestamp) == (2, BASE_MS + 2000)
    assert (results["earliest"].offset, results["latest"].offset) == (0, 10)
    assert (results["max"].offset, results["max"].timestamp) == (7, BASE_MS + 99_000)


def test_special_timestamps_and_leader_epochs(broker: BrokerProcess, timed_topic: str) -> None:
    client = RawClient(broker)
    latest, earliest, max_ts = (one(client, timed_topic, t) for t in (-1, -2, -3))
    local, tiered = (one(client, timed_topic, t, version=9) for t in (-4, -5))
    committed = one(client, timed_topic, -1, isolation=1)
    client.close()
    assert (latest.offset, latest.timestamp, latest.leader_epoch) == (10, -1, 0)
    assert (earliest.offset, earliest.leader_epoch) == (0, 0)
    assert (max_ts.offset, max_ts.timestamp) == (7, BASE_MS + 99_000)
    assert (local.offset, tiered.offset) == (0, -1)
    assert committed.offset == 10


def test_v0_old_style_offsets(broker: BrokerProcess, timed_topic: str) -> None:
    client = RawClient(broker)
    latest, earliest = (one(client, timed_topic, t, version=0) for t in (-1, -2))
    client.close()
    assert latest.old_style_offsets == [10, 0]
    assert earliest.old_style_offsets == [0]


def test_errors(broker: BrokerProcess, timed_topic: str) -> None:
    client = RawClient(broker)
    first, second = list_offsets(client, timed_topic, -1, -2)  # the same partition twice
    unknown = list_offsets(client, "never-created-topic", -1)[0]
    client.close()
    assert first.error_code == second.error_code == ErrorCode.INVALID_REQUEST
    assert unknown.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_offset_for_leader_epoch(broker: BrokerProcess, timed_topic: str) -> None:
    client = RawClient(broker)

    def ask(epoch: int, current: int = -1) -> Any:
        body = OffsetForLeaderEpochRequest(
            replica_id=-1,
            topics=[
                OffsetForLeaderTopic(
                    topic=timed_topic,
                    partitions=[
                        OffsetForLeaderPartition(partition=0, current_leader_epoch=current, leader_epoch=epoch)
                    ],
                )
            ],
        )
        response: OffsetForLeaderEpochResponse = client.request(23, 4, body)
        return response.topics[0].partitions[0]

    ours, newer, fenced = ask(0), ask(3), ask(0, current=7)
    client.close()
    assert (ours.error_code, ours.leader_epoch, ours.end_offset) == (0, 0, 10)
    assert (newer.error_code, newer.leader_epoch, newer.end_offset) == (0, -1, -1)
    assert fenced.error_code == ErrorCode.UNKNOWN_LEADER_EPOCH

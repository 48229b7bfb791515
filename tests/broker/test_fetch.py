"""Fetch: long polling, byte limits, offsets out of range, sessions, topic ids, epochs, isolation."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import confluent_kafka as ck
import pytest
from kafka import KafkaProducer

from protocol.errors import ErrorCode
from protocol.messages.fetch import FetchPartition, FetchRequest, FetchResponse, FetchTopic, ReplicaState
from protocol.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from tests.harness import BrokerProcess
from tests.raw_client import RawClient, batch, values_in


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(Path(tmp_path_factory.mktemp("fetch"))) as process:
        yield process


@pytest.fixture
def client(broker: BrokerProcess) -> Iterator[RawClient]:
    raw = RawClient(broker)
    yield raw
    raw.close()


def new_topic(client: RawClient, *values: bytes) -> str:
    topic = f"fetch-{uuid.uuid4().hex[:8]}"
    client.create_topic(topic)
    for value in values:
        assert client.produce(topic, batch(value)).responses[0].partition_responses[0].error_code == 0
    return topic


def topic_id(client: RawClient, topic: str) -> bytes:
    response: MetadataResponse = client.request(3, 12, MetadataRequest(topics=[MetadataRequestTopic(name=topic)]))
    return bytes(response.topics[0].topic_id)


def test_long_poll_returns_the_record_produced_while_waiting(broker: BrokerProcess, client: RawClient) -> None:
    topic = new_topic(client)
    # Waits up to 60 s, far beyond the socket's timeout: only the append can answer it in time.
    client.send(
        1,
        11,
        FetchRequest(
            max_wait_ms=60000,
            min_bytes=1,
            topics=[
                FetchTopic(
                    topic=topic, partitions=[FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1 << 20)]
                )
            ],
        ),
    )
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    producer.send(topic, value=b"wake up").get(10)
    producer.close()
    response: FetchResponse = client.receive(1, 11)
    partition = response.responses[0].partitions[0]
    assert partition.error_code == 0
    assert values_in(partition.records) == [b"wake up"]


def test_short_wait_without_data_answers_empty(client: RawClient) -> None:
    topic = new_topic(client, b"only")
    partition = client.fetch(topic, 1, max_wait_ms=50).responses[0].partitions[0]
    assert (partition.error_code, partition.high_watermark, partition.log_start_offset) == (0, 1, 0)
    assert partition.last_stable_offset == 1
    assert partition.records is not None and bytes(partition.records) == b""


def test_max_bytes_returns_whole_batches_and_at_least_one(client: RawClient) -> None:
    topic = new_topic(client, b"a" * 500, b"b" * 500, b"c" * 500)
    small = client.fetch(topic, 0, max_bytes=10).responses[0].partitions[0]
    assert values_in(small.records) == [b"a" * 500]
    by_partition = client.fetch(topic, 0, partition_max_bytes=1200).responses[0].partitions[0]
    assert values_in(by_partition.records) == [b"a" * 500, b"b" * 500]
    everything = client.fetch(topic, 1).responses[0].partitions[0]
    assert values_in(everything.records) == [b"b" * 500, b"c" * 500]


def test_offset_out_of_range(client: RawClient) -> None:
    topic = new_topic(client, b"x")
    partition = client.fetch(topic, 5).responses[0].partitions[0]
    assert partition.error_code == ErrorCode.OFFSET_OUT_OF_RANGE
    assert (partition.high_watermark, partition.log_start_offset) == (-1, -1)


def test_unknown_topic_by_name_and_by_id(client: RawClient) -> None:
    by_name = client.fetch("fetch-never-created", 0).responses[0].partitions[0]
    assert by_name.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    body = FetchRequest(
        max_wait_ms=0,
        topics=[
            FetchTopic(topic_id=uuid.uuid4().bytes, partitions=[FetchPartition(partition=0, partition_max_bytes=1000)])
        ],
    )
    by_id: FetchResponse = client.request(1, 13, body)
    assert by_id.responses[0].partitions[0].error_code == ErrorCode.UNKNOWN_TOPIC_ID


def test_fetch_by_topic_id_v13(client: RawClient) -> None:
    topic = new_topic(client, b"by id")
    tid = topic_id(client, topic)
    body = FetchRequest(
        max_wait_ms=0,
        topics=[FetchTopic(topic_id=tid, partitions=[FetchPartition(partition=0, partition_max_bytes=1000)])],
    )
    response: FetchResponse = client.request(1, 17, body)
    assert bytes(response.responses[0].topic_id) == tid
    assert values_in(response.responses[0].partitions[0].records) == [b"by id"]


def test_sessions_are_declined_and_unknown_sessions_refused(client: RawClient) -> None:
    topic = new_topic(client, b"s")
    new_session = client.fetch(topic, 0, session_id=0, session_epoch=0)
    assert (new_session.error_code, new_session.session_id) == (0, 0)
    assert values_in(new_session.responses[0].partitions[0].records) == [b"s"]
    incremental = client.fetch(topic, 0, session_id=1234, session_epoch=3)
    assert incremental.error_code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
    assert incremental.responses == []


def test_leader_epoch_checks(client: RawClient) -> None:
    topic = new_topic(client, b"e")

    def fetch_with(epoch: int) -> int:
        body = FetchRequest(
            topics=[
                FetchTopic(
                    topic=topic,
                    partitions=[FetchPartition(partition=0, current_leader_epoch=epoch, partition_max_bytes=100)],
                )
            ]
        )
        response: FetchResponse = client.request(1, 12, body)
        return int(response.responses[0].partitions[0].error_code)

    assert fetch_with(0) == 0
    assert fetch_with(5) == ErrorCode.UNKNOWN_LEADER_EPOCH


def test_diverging_epoch_for_a_last_fetched_epoch_past_the_log(client: RawClient) -> None:
    topic = new_topic(client, b"a", b"b")
    body = FetchRequest(
        topics=[
            FetchTopic(
                topic=topic,
                partitions=[FetchPartition(partition=0, fetch_offset=2, last_fetched_epoch=0, partition_max_bytes=100)],
            )
        ]
    )
    ok: FetchResponse = client.request(1, 12, body)
    assert ok.responses[0].partitions[0].error_code == 0
    assert ok.responses[0].partitions[0].diverging_epoch.epoch == -1
    body.topics[0].partitions[0].last_fetched_epoch = 3
    unknown: FetchResponse = client.request(1, 12, body)
    assert unknown.responses[0].partitions[0].error_code == ErrorCode.OFFSET_OUT_OF_RANGE


def test_read_committed_reads_to_the_last_stable_offset(client: RawClient) -> None:
    topic = new_topic(client, b"c1", b"c2")
    response = client.fetch(topic, 0, isolation_level=1)
    partition = response.responses[0].partitions[0]
    assert partition.last_stable_offset == 2
    assert partition.aborted_transactions == []
    assert values_in(partition.records) == [b"c1", b"c2"]


def test_follower_fetches_are_refused(client: RawClient) -> None:
    topic = new_topic(client, b"f")
    old = client.fetch(topic, 0, replica_id=1)
    assert old.responses[0].partitions[0].error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER
    body = FetchRequest(
        replica_state=ReplicaState(replica_id=1, replica_epoch=0),
        topics=[
            FetchTopic(
                topic_id=topic_id(client, topic), partitions=[FetchPartition(partition=0, partition_max_bytes=100)]
            )
        ],
    )
    new: FetchResponse = client.request(1, 15, body)
    assert new.responses[0].partitions[0].error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER


def test_confluent_consumer_long_polls_and_gets_records_in_order(broker: BrokerProcess, client: RawClient) -> None:
    topic = new_topic(client, b"first")
    consumer = ck.Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "unused",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 5000,
        }
    )
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    got: list[bytes | None] = []

    def later() -> None:
        producer = ck.Producer({"bootstrap.servers": broker.bootstrap})
        for i in range(5):
            producer.produce(topic, value=f"later-{i}".encode())
        producer.flush(10)

    thread = threading.Thread(target=later)
    thread.start()
    for _ in range(30):
        if len(got) >= 6:
            break
        for message in consumer.consume(6 - len(got), timeout=1):
            assert message.error() is None
            got.append(message.value())
    thread.join(15)
    consumer.close()
    assert got == [b"first"] + [f"later-{i}".encode() for i in range(5)]

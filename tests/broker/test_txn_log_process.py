"""The log side of transactions in a broker process, over real sockets: an open transaction (a
transactional batch produced by a raw client) holds back read_committed Fetch and ListOffsets, also
across a SIGKILL and restart (the producer state is rebuilt from the log), DescribeProducers shows
it to kafka-python's admin client, and a client may not produce a control batch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from protocol.errors import ErrorCode
from protocol.messages.list_offsets import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopic,
)
from protocol.records import build_control_batch
from tests.harness import BrokerProcess
from tests.raw_client import RawClient, batch, values_in


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path) as process:
        yield process


def latest(client: RawClient, topic: str, isolation: int) -> int:
    wanted = ListOffsetsTopic(name=topic, partitions=[ListOffsetsPartition(partition_index=0, timestamp=-1)])
    body = ListOffsetsRequest(replica_id=-1, isolation_level=isolation, topics=[wanted])
    result: ListOffsetsResponse = client.request(2, 5, body)
    assert result.topics[0].partitions[0].error_code == ErrorCode.NONE
    return int(result.topics[0].partitions[0].offset)


def committed_view(client: RawClient, topic: str) -> tuple[int, int, list[bytes | None]]:
    part = client.fetch(topic, 0, version=12, isolation_level=1).responses[0].partitions[0]
    assert part.error_code == ErrorCode.NONE
    return part.high_watermark, part.last_stable_offset, values_in(part.records)


def test_an_open_transaction_holds_back_read_committed_across_a_sigkill(broker: BrokerProcess) -> None:
    client = RawClient(broker)
    topic = "txn-open"
    client.create_topic(topic)
    assert client.produce(topic, batch(b"p0")).responses[0].partition_responses[0].error_code == 0
    txn = batch(b"t0", b"t1", producer_id=4000, producer_epoch=0, base_sequence=0, is_transactional=True)
    assert client.produce(topic, txn).responses[0].partition_responses[0].error_code == 0
    assert client.produce(topic, batch(b"p1")).responses[0].partition_responses[0].error_code == 0
    marker = build_control_batch(True, 4000, 0, coordinator_epoch=0)
    refused = client.produce(topic, marker).responses[0].partition_responses[0]
    assert refused.error_code == ErrorCode.INVALID_RECORD

    assert committed_view(client, topic) == (4, 1, [b"p0"])
    assert (latest(client, topic, 0), latest(client, topic, 1)) == (4, 1)
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False,
        isolation_level="read_committed", fetch_max_wait_ms=100,
    )  # fmt: skip
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_end()
        assert consumer.position(TopicPartition(topic, 0)) == 1  # the end for read_committed is the LSO
        consumer.seek(TopicPartition(topic, 0), 0)
        got: list[bytes] = []
        deadline = time.monotonic() + 20
        while not got and time.monotonic() < deadline:
            got += [m.value for b in consumer.poll(timeout_ms=200).values() for m in b]
        assert got == [b"p0"]
    finally:
        consumer.close()
    client.close()

    broker.restart(clean=False)
    client = RawClient(broker)
    assert committed_view(client, topic) == (4, 1, [b"p0"])
    assert latest(client, topic, 1) == 1
    client.close()
    # What kafka-transactions.sh find-hanging looks for: the producer and where its transaction began.
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        state = admin.describe_producers([TopicPartition(topic, 0)])[TopicPartition(topic, 0)]
        found = [(p.producer_id, p.producer_epoch, p.last_sequence, p.current_transaction_start_offset)
                 for p in state.active_producers]  # fmt: skip
        assert found == [(4000, 0, 1, 1)]
    finally:
        admin.close()

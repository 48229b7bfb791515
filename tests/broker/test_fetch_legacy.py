"""Fetch v0-3: clients from before record batches get magic 0/1 message sets converted from storage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from protocol.errors import ErrorCode
from protocol.records import Compression, iter_legacy_messages
from tests.harness import BrokerProcess
from tests.raw_client import RawClient, batch

TIMEOUT_MS = 5000


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path_factory.mktemp("fetch-legacy")) as process:
        yield process


@pytest.mark.parametrize(("api_version", "has_timestamps"), [((0, 9), False), ((0, 10, 0), True), ((0, 10, 1), True)])
@pytest.mark.parametrize("codec", ["gzip", None])
def test_old_consumers_read_from_their_offset(
    broker: BrokerProcess, api_version: tuple[int, ...], has_timestamps: bool, codec: str | None
) -> None:
    """kafka-python pinned to 0.9 (Fetch v1, magic 0) or 0.10 (Fetch v2/v3, magic 1)."""
    topic = f"legacy-{'-'.join(map(str, api_version))}-{codec}"
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type=codec, linger_ms=50)
    for i in range(10):
        producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode() * 20, timestamp_ms=1_700_000_000_000 + i)
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap, api_version=api_version, consumer_timeout_ms=TIMEOUT_MS
    )
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.seek(partition, 4)
    seen = []
    for m in consumer:  # stops after TIMEOUT_MS without records, should fewer than six come
        seen.append((m.offset, m.key, m.value, m.timestamp))
        if len(seen) == 6:
            break
    consumer.close()
    assert [(o, k, v) for o, k, v, _ in seen] == [(i, f"k{i}".encode(), f"v{i}".encode() * 20) for i in range(4, 10)]
    timestamps = [t for *_, t in seen]
    assert timestamps == ([1_700_000_000_000 + i for i in range(4, 10)] if has_timestamps else [None] * 6)


def test_zstd_data_cannot_go_to_a_v3_fetch(broker: BrokerProcess) -> None:
    """zstd has no magic 0/1 form: Kafka answers UNSUPPORTED_COMPRESSION_TYPE, and so do we."""
    client = RawClient(broker)
    try:
        client.create_topic("legacy-zstd")
        produced = client.produce("legacy-zstd", batch(b"a", b"b", compression=Compression.ZSTD))
        assert produced.responses[0].partition_responses[0].error_code == ErrorCode.NONE
        answer = client.fetch("legacy-zstd", 0, version=3).responses[0].partitions[0]
        assert answer.error_code == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
        # The same data reads fine at v4+, where batches go out as stored.
        assert client.fetch("legacy-zstd", 0, version=4).responses[0].partitions[0].error_code == ErrorCode.NONE
    finally:
        client.close()


def test_v0_fetch_gets_magic_0_messages(broker: BrokerProcess) -> None:
    client = RawClient(broker)
    try:
        client.create_topic("legacy-raw")
        client.produce("legacy-raw", batch(b"x", b"y", b"z"))
        answer = client.fetch("legacy-raw", 1, version=0).responses[0].partitions[0]
        assert answer.error_code == ErrorCode.NONE
        messages = list(iter_legacy_messages(bytes(answer.records or b"")))
        assert [(m.magic, m.offset, m.value) for m in messages] == [(0, 1, b"y"), (0, 2, b"z")]
    finally:
        client.close()

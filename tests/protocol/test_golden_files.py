"""Request frames captured once from real clients (tests/protocol/golden/) still decode as they did.

These bytes do not change when a client library is upgraded, so what today's clients send stays
checked. Each file is a whole request frame without its size prefix, named
``<client>_<api>[_<codec>]_v<version>.bin``; ``python -m tests.protocol.capture`` rewrites them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.headers import decode_request, encode_request, peek_api
from protocol.messages.api_versions import ApiVersionsRequest
from protocol.messages.init_producer_id import InitProducerIdRequest
from protocol.messages.metadata import MetadataRequest, MetadataRequestTopic
from protocol.messages.produce import ProduceRequest
from protocol.records import Compression, Record, decode_batch, iter_batches
from protocol.schema import Struct
from tests.protocol.capture import GOLDEN_DIR, ROWS

GOLDEN_TOPIC = [MetadataRequestTopic(name="golden")]

# file -> (client id, correlation id, expected body) for everything but Produce
HANDSHAKES: dict[str, tuple[str, int, Struct]] = {
    "kafka_python_apiversions_v4.bin": (
        "kafka-python-producer-1",
        1,
        ApiVersionsRequest(client_software_name="kafka-python", client_software_version="3.0.12"),
    ),
    "kafka_python_initproducerid_v4.bin": (
        "kafka-python-producer-1",
        2,
        InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=0),
    ),
    "kafka_python_metadata_v12.bin": ("kafka-python-producer-1", 3, MetadataRequest(topics=GOLDEN_TOPIC)),
    "librdkafka_apiversions_v3.bin": (
        "rdkafka",
        1,
        ApiVersionsRequest(
            client_software_name="confluent-kafka-python", client_software_version="2.16.1-rdkafka-2.16.0"
        ),
    ),
    "librdkafka_metadata_v12.bin": ("rdkafka", 2, MetadataRequest(topics=GOLDEN_TOPIC)),
    "aiokafka_apiversions_v0.bin": ("aiokafka-producer-1", 1, ApiVersionsRequest()),
    "aiokafka_metadata_v5.bin": ("aiokafka-producer-1", 2, MetadataRequest(topics=GOLDEN_TOPIC)),
}

# file -> (client id, acks, codec, (producer id, producer epoch, base sequence), partition leader epoch)
PRODUCES: dict[str, tuple[str, int, Compression, tuple[int, int, int], int]] = {
    "kafka_python_produce_gzip_v9.bin": ("kafka-python-producer-1", -1, Compression.GZIP, (1000, 0, 0), 0),
    "librdkafka_produce_zstd_v10.bin": ("rdkafka", -1, Compression.ZSTD, (-1, -1, -1), 0),
    # aiokafka writes base sequence 0 even without a producer id (Kafka's own clients write -1).
    "aiokafka_produce_lz4_v7.bin": ("aiokafka-producer-1", 1, Compression.LZ4, (-1, -1, 0), -1),
}


def load(name: str) -> bytes:
    return (GOLDEN_DIR / name).read_bytes()


def test_every_golden_file_is_checked() -> None:
    stored = {p.name for p in Path(GOLDEN_DIR).glob("*.bin")}
    assert stored == set(HANDSHAKES) | set(PRODUCES)


@pytest.mark.parametrize("name", sorted(set(HANDSHAKES) | set(PRODUCES)))
def test_golden_frame_decodes_and_reencodes_byte_for_byte(name: str) -> None:
    frame = load(name)
    header, body = decode_request(frame)
    assert f"_v{header.request_api_version}.bin" in name
    assert peek_api(frame) == (header.request_api_key, header.request_api_version)
    assert encode_request(header, body)[4:] == frame


@pytest.mark.parametrize("name", sorted(HANDSHAKES))
def test_golden_handshake_fields(name: str) -> None:
    client_id, correlation_id, expected = HANDSHAKES[name]
    header, body = decode_request(load(name))
    assert (header.client_id, header.correlation_id) == (client_id, correlation_id)
    assert body == expected


@pytest.mark.parametrize("name", sorted(PRODUCES))
def test_golden_produce_records(name: str) -> None:
    client_id, acks, codec, producer, leader_epoch = PRODUCES[name]
    frame = load(name)
    header, body = decode_request(frame)
    assert isinstance(body, ProduceRequest)
    assert (header.client_id, body.acks, body.transactional_id) == (client_id, acks, None)
    (topic,) = body.topic_data
    (partition,) = topic.partition_data
    assert (topic.name, partition.index) == ("golden", 0)
    assert isinstance(partition.records, memoryview) and partition.records.obj is frame
    ((batch, view),) = list(iter_batches(partition.records))
    assert batch.compression == codec
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == producer
    assert (batch.base_offset, batch.partition_leader_epoch, batch.records_count) == (0, leader_epoch, len(ROWS))
    assert (batch.base_timestamp, batch.max_timestamp) == (ROWS[0][3], max(ts for *_, ts in ROWS))
    _, records = decode_batch(view, verify_crc=True)
    assert list(records) == [Record(i, ts, key, value, hs) for i, (key, value, hs, ts) in enumerate(ROWS)]

"""Real clients produce to a capturing server; our decoders must read exactly what each one sent.

For every codec a client supports: the Produce request decodes with no byte left over, its records
field is a view into the frame (no copy), every batch carries a valid CRC-32C and the codec asked
for, and its records are the keys, values, headers and timestamps the test produced. The handshake
requests (ApiVersions, Metadata) decode to what the client says about itself, and re-encoding any
captured request gives the client's bytes back exactly.
"""

from __future__ import annotations

import confluent_kafka
import kafka
import pytest

from protocol.headers import decode_request, encode_request
from protocol.messages.api_versions import API_VERSIONS, ApiVersionsRequest
from protocol.messages.metadata import METADATA, MetadataRequest
from protocol.messages.produce import PRODUCE, ProduceRequest
from protocol.records import BatchHeader, Compression, decode_batch, iter_batches
from tests.protocol.capture import (
    ROWS,
    CaptureServer,
    Row,
    produce_with_aiokafka,
    produce_with_kafka_python,
    produce_with_librdkafka,
)

pytestmark = pytest.mark.timeout(60)

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def produced(server: CaptureServer, topic: str) -> tuple[list[BatchHeader], list[Row]]:
    """Every batch header and record the server received for ``topic``, in order, checked on the way."""
    assert server.problems == []
    headers: list[BatchHeader] = []
    rows: list[Row] = []
    for captured in server.captured(PRODUCE.key):
        _, body = decode_request(captured.frame)
        assert isinstance(body, ProduceRequest)
        for topic_data in body.topic_data:
            assert topic_data.name == topic
            for partition in topic_data.partition_data:
                records = partition.records
                assert isinstance(records, memoryview)
                assert records.obj is captured.frame  # a view into the frame, not a copy
                for header, view in iter_batches(records):
                    _, batch = decode_batch(view, verify_crc=True)
                    headers.append(header)
                    rows += [(r.key, r.value, r.headers, r.timestamp) for r in batch]
    return headers, rows


def assert_reencodes(server: CaptureServer) -> None:
    """Our encoder writes every captured request byte for byte as the client did."""
    for captured in server.captured():
        header, body = decode_request(captured.frame)
        assert encode_request(header, body)[4:] == captured.frame, (captured.api_key, captured.api_version)


def api_versions_requests(server: CaptureServer) -> list[tuple[str | None, ApiVersionsRequest]]:
    out = []
    for captured in server.captured(API_VERSIONS.key):
        header, body = decode_request(captured.frame)
        assert isinstance(body, ApiVersionsRequest)
        out.append((header.client_id, body))
    return out


def metadata_topics(server: CaptureServer) -> list[list[str | None] | None]:
    out: list[list[str | None] | None] = []
    for captured in server.captured(METADATA.key):
        _, body = decode_request(captured.frame)
        assert isinstance(body, MetadataRequest)
        out.append(None if body.topics is None else [t.name for t in body.topics])
    return out


# --- kafka-python -----------------------------------------------------------------------------------
@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python_produce_decodes_to_what_was_sent(codec: str) -> None:
    with CaptureServer() as server:
        produce_with_kafka_python(server, "kp-topic", None if codec == "none" else codec, ROWS)
    headers, rows = produced(server, "kp-topic")
    assert rows == ROWS
    assert [h.compression for h in headers] == [Compression[codec.upper()]] * len(headers)
    # kafka-python 3 is idempotent by default: the id our InitProducerId answer gave it, sequence 0.
    assert [(h.producer_id, h.producer_epoch, h.base_sequence) for h in headers] == [(1000, 0, 0)]
    assert_reencodes(server)


def test_kafka_python_handshake_requests() -> None:
    with CaptureServer() as server:
        produce_with_kafka_python(server, "kp-handshake", None, ROWS[:1])
    versions = api_versions_requests(server)
    assert versions
    for client_id, body in versions:
        assert client_id is not None and client_id.startswith("kafka-python-producer-")
        assert (body.client_software_name, body.client_software_version) == ("kafka-python", kafka.__version__)
    assert min(c.api_version for c in server.captured(API_VERSIONS.key)) >= 3  # flexible, with tagged fields
    # The bootstrap lookup asks for no topic (kafka-python sometimes repeats it, depending on timing);
    # the producer then asks for the one it writes to.
    topics = metadata_topics(server)
    assert topics[0] == [] and ["kp-handshake"] in topics
    assert all(t in ([], ["kp-handshake"]) for t in topics), topics
    assert_reencodes(server)


# --- confluent-kafka (librdkafka) -------------------------------------------------------------------
LIBRDKAFKA_ROWS: list[Row] = [*ROWS, (b"null-header", b"v", [("absent", None)], 1_700_000_000_040)]


@pytest.mark.parametrize("codec", CODECS)
def test_librdkafka_produce_decodes_to_what_was_sent(codec: str) -> None:
    with CaptureServer() as server:
        produce_with_librdkafka(server, "rd-topic", codec, LIBRDKAFKA_ROWS)
    headers, rows = produced(server, "rd-topic")
    assert rows == LIBRDKAFKA_ROWS
    assert {h.compression for h in headers} == {Compression[codec.upper()]}
    assert all(h.producer_id == -1 for h in headers)  # not idempotent unless asked
    assert max(h.max_timestamp for h in headers) == max(ts for *_, ts in LIBRDKAFKA_ROWS)
    assert_reencodes(server)


def test_librdkafka_handshake_requests() -> None:
    with CaptureServer() as server:
        produce_with_librdkafka(server, "rd-handshake", "none", ROWS[:1])
    versions = api_versions_requests(server)
    assert versions
    expected_version = f"{confluent_kafka.version()}-rdkafka-{confluent_kafka.libversion()[0]}"
    for client_id, body in versions:
        assert client_id == "rdkafka"
        assert (body.client_software_name, body.client_software_version) == ("confluent-kafka-python", expected_version)
    assert {c.api_version for c in server.captured(API_VERSIONS.key)} == {3}
    assert metadata_topics(server)[-1] == ["rd-handshake"]
    assert_reencodes(server)


def test_librdkafka_retries_apiversions_after_unsupported_version() -> None:
    # A broker knowing ApiVersions only up to v2 answers the client's v3 with UNSUPPORTED_VERSION in a
    # v0 body (KIP-511); librdkafka then falls back to v0 and goes on to produce.
    with CaptureServer(max_versions={API_VERSIONS.key: 2}) as server:
        produce_with_librdkafka(server, "rd-fallback", "none", ROWS[:1])
    first_connection = [c.api_version for c in server.captured(API_VERSIONS.key) if c.connection == 0]
    assert first_connection == [3, 0]
    _, rows = produced(server, "rd-fallback")
    assert rows == ROWS[:1]


def test_kafka_python_retries_apiversions_after_unsupported_version() -> None:
    # kafka-python retries with the highest version the error response lists.
    with CaptureServer(max_versions={API_VERSIONS.key: 2}) as server:
        produce_with_kafka_python(server, "kp-fallback", None, ROWS[:1])
    first_connection = [c.api_version for c in server.captured(API_VERSIONS.key) if c.connection == 0]
    assert first_connection == [4, 2]
    _, rows = produced(server, "kp-fallback")
    assert rows == ROWS[:1]


# --- aiokafka -------------------------------------------------------------------------------------
@pytest.mark.parametrize("codec", CODECS)
def test_aiokafka_produce_decodes_to_what_was_sent(codec: str) -> None:
    with CaptureServer() as server:
        produce_with_aiokafka(server, "aio-topic", None if codec == "none" else codec, ROWS)
    headers, rows = produced(server, "aio-topic")
    assert rows == ROWS
    assert {h.compression for h in headers} == {Compression[codec.upper()]}
    assert_reencodes(server)


def test_aiokafka_handshake_requests() -> None:
    with CaptureServer() as server:
        produce_with_aiokafka(server, "aio-handshake", None, ROWS[:1])
    versions = api_versions_requests(server)
    assert versions
    for client_id, body in versions:
        assert client_id is not None and client_id.startswith("aiokafka-producer-")
        assert (body.client_software_name, body.client_software_version) == ("", "")  # v0 has neither
    assert metadata_topics(server)[-1] == ["aio-handshake"]
    assert_reencodes(server)

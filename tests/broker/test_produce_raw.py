"""Produce on a raw socket: what a hand-made request gets back, error by error."""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.errors import ErrorCode
from protocol.headers import RequestHeader, encode_request
from protocol.messages.list_offsets import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopic,
)
from protocol.messages.produce import PartitionProduceData, ProduceRequest, ProduceResponse, TopicProduceData
from protocol.records import Compression
from tests.harness import BrokerProcess
from tests.raw_client import RawClient, batch, values_in


def legacy_message(value: bytes, key: bytes | None = None, offset: int = 0, magic: int = 1) -> bytes:
    """A magic-0/1 log entry (offset, size, crc, magic, attributes, [timestamp], key, value)."""
    body = bytes([magic, 0])
    if magic == 1:
        body += struct.pack(">q", int(time.time() * 1000))
    body += struct.pack(">i", -1) if key is None else struct.pack(">i", len(key)) + key
    body += struct.pack(">i", len(value)) + value
    message = struct.pack(">I", zlib.crc32(body)) + body
    return struct.pack(">qi", offset, len(message)) + message


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(Path(tmp_path_factory.mktemp("produce-raw"))) as process:
        yield process


@pytest.fixture
def client(broker: BrokerProcess) -> Iterator[RawClient]:
    raw = RawClient(broker)
    yield raw
    raw.close()


def partition_answer(response: ProduceResponse) -> Any:
    return response.responses[0].partition_responses[0]


def test_acks_1_answers_offsets_and_the_data_reads_back(client: RawClient) -> None:
    client.create_topic("raw-ok")
    first = partition_answer(client.produce("raw-ok", batch(b"a", b"b"), acks=1))
    second = partition_answer(client.produce("raw-ok", batch(b"c"), acks=-1))
    assert (first.error_code, first.base_offset, first.log_append_time_ms, first.log_start_offset) == (0, 0, -1, 0)
    assert (second.error_code, second.base_offset) == (0, 2)
    fetched = client.fetch("raw-ok", 0).responses[0].partitions[0]
    assert fetched.high_watermark == 3
    assert values_in(fetched.records) == [b"a", b"b", b"c"]


def test_flipped_crc_byte_is_corrupt_message_and_nothing_is_written(client: RawClient) -> None:
    client.create_topic("raw-crc")
    data = bytearray(batch(b"x"))
    data[17] ^= 0xFF
    answer = partition_answer(client.produce("raw-crc", bytes(data)))
    assert answer.error_code == ErrorCode.CORRUPT_MESSAGE
    assert answer.base_offset == -1
    assert client.latest_offset("raw-crc") == 0


def test_invalid_acks_is_refused_per_partition(client: RawClient) -> None:
    client.create_topic("raw-acks")
    answer = partition_answer(client.produce("raw-acks", batch(b"x"), acks=2))
    assert answer.error_code == ErrorCode.INVALID_REQUIRED_ACKS
    assert client.latest_offset("raw-acks") == 0


def test_acks_0_gets_no_response_but_is_written(client: RawClient) -> None:
    client.create_topic("raw-acks0")
    body = ProduceRequest(
        acks=0,
        timeout_ms=1000,
        topic_data=[
            TopicProduceData(name="raw-acks0", partition_data=[PartitionProduceData(index=0, records=batch(b"quiet"))])
        ],
    )
    client.send(0, 9, body)
    # The next response on the socket is the ListOffsets one: acks=0 produced nothing to read.
    assert client.latest_offset("raw-acks0") == 1


def test_failed_acks_0_produce_closes_the_connection(broker: BrokerProcess) -> None:
    """Kafka closes the connection after an acks=0 error (the producer must refresh its metadata),
    but answers everything asked before it, and other connections go on."""
    failing, bystander = RawClient(broker), RawClient(broker)
    try:
        failing.create_topic("raw-acks0-fail")
        earlier = failing.send(2, 5, ListOffsetsRequest(
            replica_id=-1,
            topics=[ListOffsetsTopic(name="raw-acks0-fail", partitions=[ListOffsetsPartition(timestamp=-1)])],
        ))  # fmt: skip
        body = ProduceRequest(
            acks=0,
            timeout_ms=1000,
            topic_data=[
                TopicProduceData(
                    name="raw-acks0-fail", partition_data=[PartitionProduceData(index=7, records=batch(b"x"))]
                )
            ],
        )
        # Pipelined right behind the ListOffsets request; partition 7 does not exist.
        header = RequestHeader(request_api_key=0, request_api_version=9, correlation_id=earlier + 1, client_id="raw")
        failing.sock.sendall(encode_request(header, body))
        answer: ListOffsetsResponse = failing.receive(2, 5)
        assert answer.topics[0].partitions[0].offset == 0
        failing.sock.settimeout(10)
        assert failing.sock.recv(1) == b"", "the connection should be closed"
        assert bystander.latest_offset("raw-acks0-fail") == 0
    finally:
        failing.close()
        bystander.close()


def test_v3_and_later_want_exactly_one_batch(client: RawClient) -> None:
    client.create_topic("raw-two")
    answer = partition_answer(client.produce("raw-two", batch(b"a") + batch(b"b")))
    assert answer.error_code == ErrorCode.INVALID_RECORD
    assert "exactly one record batch" in answer.error_message
    empty = partition_answer(client.produce("raw-two", b""))
    assert empty.error_code == ErrorCode.INVALID_RECORD


def test_legacy_magic_on_v3_is_invalid_record(client: RawClient) -> None:
    client.create_topic("raw-legacy3")
    answer = partition_answer(client.produce("raw-legacy3", legacy_message(b"old"), version=3))
    assert answer.error_code == ErrorCode.INVALID_RECORD


@pytest.mark.parametrize(("version", "magic"), [(0, 0), (1, 1), (2, 1)])
def test_legacy_message_sets_on_v0_to_v2_are_converted(client: RawClient, version: int, magic: int) -> None:
    topic = f"raw-legacy-v{version}"
    client.create_topic(topic)
    records = b"".join(legacy_message(v, offset=i * 3, magic=magic) for i, v in enumerate([b"one", b"two", b"three"]))
    answer = partition_answer(client.produce(topic, records, version=version, acks=1))
    assert (answer.error_code, answer.base_offset) == (0, 0)
    fetched = client.fetch(topic, 0).responses[0].partitions[0]
    assert values_in(fetched.records) == [b"one", b"two", b"three"]
    assert fetched.high_watermark == 3


def test_zstd_needs_produce_v7(client: RawClient) -> None:
    client.create_topic("raw-zstd")
    old = partition_answer(client.produce("raw-zstd", batch(b"z", compression=Compression.ZSTD), version=6))
    new = partition_answer(client.produce("raw-zstd", batch(b"z", compression=Compression.ZSTD), version=7))
    assert old.error_code == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    assert (new.error_code, new.base_offset) == (0, 0)


def test_control_batches_from_clients_are_invalid(client: RawClient) -> None:
    client.create_topic("raw-control")
    answer = partition_answer(client.produce("raw-control", batch(b"x", is_control=True)))
    assert answer.error_code == ErrorCode.INVALID_RECORD


def test_producer_id_without_sequence_is_invalid(client: RawClient) -> None:
    client.create_topic("raw-noseq")
    answer = partition_answer(client.produce("raw-noseq", batch(b"x", producer_id=5, producer_epoch=0)))
    assert answer.error_code == ErrorCode.INVALID_RECORD


def test_unknown_internal_and_invalid_topics(client: RawClient) -> None:
    client.create_topic("raw-known")
    unknown = partition_answer(client.produce("raw-never-created", batch(b"x")))
    bad_name = partition_answer(client.produce("bad/name", batch(b"x")))
    no_partition = partition_answer(client.produce("raw-known", batch(b"x"), partition=7))
    assert unknown.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert bad_name.error_code == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert no_partition.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_log_append_time_topics_answer_the_append_time(tmp_path: Path) -> None:
    with BrokerProcess(tmp_path, {"log.message.timestamp.type": "LogAppendTime"}) as process:
        raw = RawClient(process)
        raw.create_topic("raw-append-time")
        before = int(time.time() * 1000)
        answer = partition_answer(raw.produce("raw-append-time", batch(b"x")))
        raw.close()
    assert answer.error_code == 0
    assert answer.log_append_time_ms >= before

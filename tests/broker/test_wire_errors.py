"""Bad field values get Kafka's error codes, not a handler traceback and a closed connection.

Each of these once closed the connection with a traceback in the broker's log (found by the wire
fuzzer, ``test_fuzz_wire.py``). After each answer the same connection must still serve ApiVersions,
and the broker's log must hold no traceback.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator

import pytest

from protocol.errors import ErrorCode
from protocol.headers import RequestHeader, encode_request
from protocol.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from protocol.messages.create_partitions import CreatePartitionsRequest, CreatePartitionsResponse, CreatePartitionsTopic
from protocol.messages.create_topics import CreatableTopic, CreateTopicsRequest, CreateTopicsResponse
from protocol.messages.elect_leaders import ElectLeadersRequest, ElectLeadersResponse, TopicPartitions
from protocol.messages.join_group import JoinGroupRequest, JoinGroupRequestProtocol, JoinGroupResponse
from protocol.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from protocol.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
    OffsetCommitResponse,
)
from protocol.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestTopic, OffsetFetchResponse
from protocol.records import Record, build_batch
from protocol.records.header import write_crc
from protocol.schema import MAX_STRING
from protocol.varint import encode_uvarint
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

API_VERSIONS, METADATA, OFFSET_COMMIT, OFFSET_FETCH, JOIN_GROUP, ELECT_LEADERS = 18, 3, 8, 9, 11, 43
CREATE_TOPICS, CREATE_PARTITIONS = 19, 37
TOPIC = "wire-errors"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    overrides = {"group.initial.rebalance.delay.ms": "0"}
    with BrokerProcess(tmp_path_factory.mktemp("wire-errors"), overrides) as process:
        client = RawClient(process)
        client.create_topic(TOPIC)
        client.close()
        yield process


@pytest.fixture
def client(broker: BrokerProcess) -> Iterator[RawClient]:
    raw = RawClient(broker)
    seen = len(broker.output)
    yield raw
    still_open = raw.request(API_VERSIONS, 0, ApiVersionsRequest())
    assert isinstance(still_open, ApiVersionsResponse) and still_open.error_code == ErrorCode.NONE
    raw.close()
    assert "failed in its handler" not in broker.output[seen:]


@pytest.mark.parametrize("version", [10, 11])
def test_metadata_v10_11_null_topic_name_is_an_invalid_request(client: RawClient, version: int) -> None:
    request = MetadataRequest(topics=[MetadataRequestTopic(name=None), MetadataRequestTopic(name=TOPIC)])
    answer = client.request(METADATA, version, request)
    assert isinstance(answer, MetadataResponse)
    assert [(t.name, t.error_code) for t in answer.topics] == [
        ("", ErrorCode.INVALID_REQUEST),
        (TOPIC, ErrorCode.INVALID_REQUEST),
    ]


def test_metadata_v11_topic_id_is_an_invalid_request(client: RawClient) -> None:
    request = MetadataRequest(topics=[MetadataRequestTopic(name=TOPIC, topic_id=b"\x01" * 16)])
    answer = client.request(METADATA, 11, request)
    assert [(t.name, t.error_code) for t in answer.topics] == [(TOPIC, ErrorCode.INVALID_REQUEST)]


@pytest.mark.parametrize("version", [2, 3, 4])
def test_offset_commit_with_a_huge_retention_is_kept(client: RawClient, version: int) -> None:
    group = f"huge-retention-{version}"
    partition = OffsetCommitRequestPartition(partition_index=0, committed_offset=42, committed_metadata="m")
    request = OffsetCommitRequest(
        group_id=group,
        generation_id_or_member_epoch=-1,
        retention_time_ms=2**63 - 1,
        topics=[OffsetCommitRequestTopic(name=TOPIC, partitions=[partition])],
    )
    deadline = time.monotonic() + 30
    while True:  # the first commit may find __consumer_offsets still being created
        answer = client.request(OFFSET_COMMIT, version, request)
        assert isinstance(answer, OffsetCommitResponse)
        code = answer.topics[0].partitions[0].error_code
        if code != ErrorCode.COORDINATOR_NOT_AVAILABLE or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert code == ErrorCode.NONE
    fetched = client.request(
        OFFSET_FETCH,
        1,
        OffsetFetchRequest(group_id=group, topics=[OffsetFetchRequestTopic(name=TOPIC, partition_indexes=[0])]),
    )
    assert isinstance(fetched, OffsetFetchResponse)
    assert fetched.topics[0].partitions[0].committed_offset == 42


def batch_with_codec(codec_id: int) -> bytes:
    """A v2 batch whose attributes name compression codec ``codec_id``, its CRC valid."""
    batch = bytearray(build_batch([Record(offset=0, timestamp=1, key=b"k", value=b"v")]))
    (attributes,) = struct.unpack_from(">h", batch, 21)
    struct.pack_into(">h", batch, 21, (attributes & ~0x07) | codec_id)
    write_crc(batch)
    return bytes(batch)


@pytest.mark.parametrize("codec_id", [5, 6, 7])
@pytest.mark.parametrize("version", [2, 3, 4, 5, 6, 7, 9, 11])
def test_produce_with_an_unknown_codec_is_a_corrupt_message(client: RawClient, version: int, codec_id: int) -> None:
    answer = client.produce(TOPIC, batch_with_codec(codec_id), version=version)
    assert answer.responses[0].partition_responses[0].error_code == ErrorCode.CORRUPT_MESSAGE


def metadata_v9_with_name_of(size: int) -> bytes:
    """A Metadata v9 request frame asking for a topic whose compact name has ``size`` bytes."""
    header = RequestHeader(request_api_key=METADATA, request_api_version=9, correlation_id=1, client_id="raw")
    frame = encode_request(header, MetadataRequest(topics=[MetadataRequestTopic(name="x" * MAX_STRING)]))
    old = encode_uvarint(MAX_STRING + 1) + b"x" * MAX_STRING
    frame = frame.replace(old, encode_uvarint(size + 1) + b"x" * size)
    return struct.pack(">i", len(frame) - 4) + frame[4:]


def test_compact_string_of_32767_bytes_is_answered(client: RawClient) -> None:
    client.send_bytes(metadata_v9_with_name_of(MAX_STRING))
    client.correlation_id = 1
    answer = client.receive(METADATA, 9)
    assert [(t.name, t.error_code) for t in answer.topics] == [("x" * MAX_STRING, ErrorCode.INVALID_TOPIC_EXCEPTION)]


def test_compact_string_over_32767_bytes_closes_with_one_line(broker: BrokerProcess) -> None:
    seen = len(broker.output)
    victim = RawClient(broker)
    address = victim.address
    victim.send_bytes(metadata_v9_with_name_of(40_000))
    assert victim.reads_eof()  # Kafka too refuses the request when it parses it, and closes
    victim.close()
    deadline = time.monotonic() + 10
    while not (lines := [line for line in broker.output.splitlines() if address in line]):
        assert time.monotonic() < deadline, broker.output[-3000:]
        time.sleep(0.05)
    assert len(lines) == 1 and "string length 40000 is over the limit" in lines[0], lines
    assert "Traceback" not in broker.output[seen:]


def test_join_group_naming_a_protocol_twice_completes(client: RawClient) -> None:
    """A member's protocol named twice once counted as two members supporting it, so no protocol was
    supported by "every" member: the rebalance failed in a timer and the join was never answered."""
    twice = [JoinGroupRequestProtocol(name="range", metadata=b"1"), JoinGroupRequestProtocol(name="range")]
    request = JoinGroupRequest(
        group_id="protocol-twice", session_timeout_ms=10_000, rebalance_timeout_ms=10_000,
        protocol_type="consumer", protocols=twice,
    )  # fmt: skip
    answer = client.request(JOIN_GROUP, 3, request)
    assert isinstance(answer, JoinGroupResponse)
    assert (answer.error_code, answer.protocol_name, answer.leader) == (ErrorCode.NONE, "range", answer.member_id)
    assert [m.metadata for m in answer.members] == [b"1"]


def test_an_error_message_quoting_a_32767_byte_name_is_cut_to_fit(client: RawClient) -> None:
    name = "n" * MAX_STRING
    request = ElectLeadersRequest(topic_partitions=[TopicPartitions(topic=name, partitions=[0])])
    answer = client.request(ELECT_LEADERS, 0, request)
    assert isinstance(answer, ElectLeadersResponse)
    result = answer.replica_election_results[0]
    assert result.topic == name
    assert result.partition_result[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    message = result.partition_result[0].error_message
    assert message is not None and message.startswith("No such topic as nnn") and len(message) == MAX_STRING


def test_a_member_id_made_from_a_32767_byte_client_id_fits(client: RawClient) -> None:
    """Member ids are ``<client id>-<uuid>``: from the longest client id, the id is cut to fit a string."""
    request = JoinGroupRequest(
        group_id="long-client-id", session_timeout_ms=10_000, rebalance_timeout_ms=10_000,
        protocol_type="consumer", protocols=[JoinGroupRequestProtocol(name="range")],
    )  # fmt: skip
    client.correlation_id += 1
    header = RequestHeader(
        request_api_key=JOIN_GROUP,
        request_api_version=3,
        correlation_id=client.correlation_id,
        client_id="c" * MAX_STRING,
    )
    client.send_bytes(encode_request(header, request))
    answer = client.receive(JOIN_GROUP, 3)
    assert isinstance(answer, JoinGroupResponse)
    assert answer.error_code == ErrorCode.NONE
    assert answer.member_id.startswith("ccc") and len(answer.member_id) == MAX_STRING
    assert answer.leader == answer.member_id


@pytest.mark.parametrize("validate_only", [True, False])
def test_create_topics_over_10000_partitions_is_a_policy_violation(client: RawClient, validate_only: bool) -> None:
    """Kafka's controller bounds one request to 10,000 partitions; 2**31 - 1 once blocked the broker."""
    topics = [
        CreatableTopic(name="small", num_partitions=1, replication_factor=1),
        CreatableTopic(name="huge", num_partitions=2**31 - 1, replication_factor=1),
    ]
    answer = client.request(CREATE_TOPICS, 5, CreateTopicsRequest(topics=topics, validate_only=validate_only))
    assert isinstance(answer, CreateTopicsResponse)
    assert [(t.name, t.error_code, t.error_message) for t in answer.topics] == [
        (name, ErrorCode.POLICY_VIOLATION, "Excessively large number of partitions per request.")
        for name in ("small", "huge")
    ]


def test_create_topics_of_10000_partitions_in_all_is_allowed(client: RawClient) -> None:
    topics = [CreatableTopic(name=f"half-{i}", num_partitions=5_000, replication_factor=1) for i in range(2)]
    answer = client.request(CREATE_TOPICS, 5, CreateTopicsRequest(topics=topics, validate_only=True))
    assert [(t.error_code, t.num_partitions) for t in answer.topics] == [(ErrorCode.NONE, 5_000)] * 2


def test_create_partitions_over_10000_new_partitions_is_a_policy_violation(client: RawClient) -> None:
    topics = [CreatePartitionsTopic(name=TOPIC, count=2**31 - 1, assignments=None)]
    answer = client.request(CREATE_PARTITIONS, 1, CreatePartitionsRequest(topics=topics, timeout_ms=1000))
    assert isinstance(answer, CreatePartitionsResponse)
    assert [(r.name, r.error_code, r.error_message) for r in answer.results] == [
        (TOPIC, ErrorCode.POLICY_VIOLATION, "Unable to perform excessively large batch operation.")
    ]

"""Bad input on a raw socket closes that connection only, with one log line; the broker keeps serving.

Each case opens a victim connection and a bystander connection at the same time, sends the bad bytes
on the victim, then checks that the victim reads end-of-stream, that the broker logged exactly one
line about the victim's address, and that the bystander still gets answers. Invalid topic names are
an invalid field, not bad framing: they get INVALID_TOPIC_EXCEPTION and the connection stays open.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.errors import ErrorCode
from protocol.headers import RequestHeader, encode_request
from protocol.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from protocol.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from protocol.messages.produce import PartitionProduceData, ProduceRequest, ProduceResponse, TopicProduceData
from protocol.records.batch import build_batch
from protocol.records.record import Record
from tests.harness import BrokerProcess
from tests.raw_client import RawClient as SharedRawClient

API_VERSIONS, METADATA, PRODUCE = 18, 3, 0
SOCKET_TIMEOUT_S = 10.0
LOG_WAIT_S = 5.0
INVALID_NAMES = ["", ".", "..", "a" * 250, "bad/name"]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with BrokerProcess(tmp_path_factory.mktemp("bad-input")) as process:
        yield process
        assert process.process is not None
        assert process.process.poll() is None, f"the broker died:\n{process.output}"


class RawClient(SharedRawClient):
    """The shared raw client, with a shorter timeout: a test waits that long for an expected EOF."""

    def __init__(self, broker: BrokerProcess) -> None:
        super().__init__(broker, timeout_s=SOCKET_TIMEOUT_S)

    def api_versions_works(self) -> bool:
        response = self.request(API_VERSIONS, 2, ApiVersionsRequest())
        assert isinstance(response, ApiVersionsResponse)
        return response.error_code == ErrorCode.NONE and any(k.api_key == METADATA for k in response.api_keys)


@pytest.fixture
def pair(broker: BrokerProcess) -> Iterator[tuple[RawClient, RawClient]]:
    victim, bystander = RawClient(broker), RawClient(broker)
    assert bystander.api_versions_works()
    yield victim, bystander
    victim.close()
    bystander.close()


def lines_about(broker: BrokerProcess, address: str) -> list[str]:
    """The broker's log lines that name ``address``, once they stop coming (bounded wait)."""
    deadline = time.monotonic() + LOG_WAIT_S
    found: list[str] = []
    while time.monotonic() < deadline:
        found = [line for line in broker.output.splitlines() if address in line]
        if found:
            time.sleep(0.2)  # let a traceback or a second line arrive, if the broker writes one
            return [line for line in broker.output.splitlines() if address in line]
        time.sleep(0.05)
    return found


def assert_closed_alone(broker: BrokerProcess, victim: RawClient, bystander: RawClient) -> str:
    assert victim.reads_eof()
    before = len(broker.output.splitlines())
    lines = lines_about(broker, victim.address)
    assert len(lines) == 1, lines
    assert "Traceback" not in broker.output.splitlines()[before - 1 :]
    assert bystander.api_versions_works()
    return lines[0]


def header_bytes(api_key: int, version: int, correlation_id: int = 7, client_id: bytes = b"raw") -> bytes:
    return struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id


def framed(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def test_frame_over_socket_request_max_bytes(broker: BrokerProcess, pair: tuple[RawClient, RawClient]) -> None:
    victim, bystander = pair
    victim.send_bytes(struct.pack(">i", 104857600 + 1) + header_bytes(METADATA, 1))
    line = assert_closed_alone(broker, victim, bystander)
    assert "socket.request.max.bytes" in line


def test_negative_frame_size(broker: BrokerProcess, pair: tuple[RawClient, RawClient]) -> None:
    victim, bystander = pair
    victim.send_bytes(struct.pack(">i", -5))
    assert_closed_alone(broker, victim, bystander)


def test_garbage_bytes(broker: BrokerProcess, pair: tuple[RawClient, RawClient]) -> None:
    victim, bystander = pair
    victim.send_bytes(framed(bytes(range(7, 47))))  # API key 0x0708 and nonsense after it
    assert_closed_alone(broker, victim, bystander)


def test_truncated_frame_then_close(broker: BrokerProcess, pair: tuple[RawClient, RawClient]) -> None:
    victim, bystander = pair
    whole = encode_request(
        RequestHeader(request_api_key=METADATA, request_api_version=1, correlation_id=1, client_id="raw"),
        MetadataRequest(topics=None),
    )
    victim.send_bytes(whole[: len(whole) - 3])
    address = victim.address
    victim.sock.shutdown(socket.SHUT_WR)
    assert victim.reads_eof()
    lines = lines_about(broker, address)
    assert len(lines) == 1, lines
    assert bystander.api_versions_works()


def test_unknown_api_key(broker: BrokerProcess, pair: tuple[RawClient, RawClient]) -> None:
    victim, bystander = pair
    victim.send_bytes(framed(header_bytes(32000, 0)))
    line = assert_closed_alone(broker, victim, bystander)
    assert "32000" in line


def test_unsupported_version_of_a_known_api(broker: BrokerProcess, pair: tuple[RawClient, RawClient]) -> None:
    victim, bystander = pair
    victim.send_bytes(framed(header_bytes(METADATA, 99) + struct.pack(">i", -1)))
    line = assert_closed_alone(broker, victim, bystander)
    assert "99" in line


def test_header_that_does_not_decode(broker: BrokerProcess, pair: tuple[RawClient, RawClient]) -> None:
    victim, bystander = pair
    # Metadata v1: a client id that claims 500 bytes in a 12-byte frame.
    victim.send_bytes(framed(struct.pack(">hhih", METADATA, 1, 3, 500) + b"ab"))
    assert_closed_alone(broker, victim, bystander)


def test_too_new_api_versions_gets_kip_511_answer(broker: BrokerProcess, pair: tuple[RawClient, RawClient]) -> None:
    """UNSUPPORTED_VERSION (35) and ApiVersions' own range in a v0 body; the connection stays open."""
    client, _ = pair
    # A v2 request header (flexible: empty tagged-field section) and a body we cannot know.
    client.send_bytes(framed(header_bytes(API_VERSIONS, 99, correlation_id=42) + b"\x00" + b"\x05later\x02\x01\x00"))
    frame = client.read_frame()
    correlation_id, error_code, count = struct.unpack_from(">ihi", frame, 0)
    assert correlation_id == 42
    assert error_code == ErrorCode.UNSUPPORTED_VERSION  # 35
    assert count == 1
    api_key, min_version, max_version = struct.unpack_from(">hhh", frame, 10)
    assert (api_key, min_version) == (API_VERSIONS, 0)
    assert max_version >= 3
    assert len(frame) == 16  # a v0 body: no throttle time, no tagged fields
    # The client retries with a version the broker named, on the same connection.
    response = client.request(
        API_VERSIONS,
        max_version,
        ApiVersionsRequest(client_software_name="kafkish-test", client_software_version="1.0"),
    )
    assert isinstance(response, ApiVersionsResponse)
    assert response.error_code == ErrorCode.NONE


def test_too_new_api_versions_with_a_header_that_does_not_decode(
    broker: BrokerProcess, pair: tuple[RawClient, RawClient]
) -> None:
    """The client's fault, not a handler's: one line and a closed socket, no traceback."""
    victim, bystander = pair
    victim.send_bytes(framed(struct.pack(">hhih", API_VERSIONS, 99, 3, 500) + b"ab"))
    line = assert_closed_alone(broker, victim, bystander)
    assert "ApiVersions" in line and "handler" not in line


@pytest.mark.parametrize("version", [1, 4, 9, 12])
def test_invalid_topic_names_in_metadata(
    broker: BrokerProcess, pair: tuple[RawClient, RawClient], version: int
) -> None:
    client, _ = pair
    request = MetadataRequest(topics=[MetadataRequestTopic(name=name) for name in INVALID_NAMES])
    response = client.request(METADATA, version, request)
    assert isinstance(response, MetadataResponse)
    errors = {topic.name: topic.error_code for topic in response.topics}
    assert errors == dict.fromkeys(INVALID_NAMES, ErrorCode.INVALID_TOPIC_EXCEPTION)
    # Nothing was created, and the connection is still usable.
    everything = client.request(METADATA, version, MetadataRequest(topics=None))
    assert isinstance(everything, MetadataResponse)
    assert not {topic.name for topic in everything.topics} & set(INVALID_NAMES)


@pytest.mark.parametrize("version", [3, 7, 9])
def test_invalid_topic_names_in_produce(broker: BrokerProcess, pair: tuple[RawClient, RawClient], version: int) -> None:
    client, _ = pair
    batch = build_batch([Record(offset=0, timestamp=int(time.time() * 1000), key=b"k", value=b"v")])
    request = ProduceRequest(
        acks=1,
        timeout_ms=5000,
        topic_data=[
            TopicProduceData(name=name, partition_data=[PartitionProduceData(index=0, records=batch)])
            for name in INVALID_NAMES
        ],
    )
    response = client.request(PRODUCE, version, request)
    assert isinstance(response, ProduceResponse)
    errors = {(t.name, p.index): p.error_code for t in response.responses for p in t.partition_responses}
    assert errors == {(name, 0): ErrorCode.INVALID_TOPIC_EXCEPTION for name in INVALID_NAMES}
    assert client.api_versions_works()


def test_many_bad_connections_leave_the_broker_serving(broker: BrokerProcess, tmp_path: Path) -> None:
    """A burst of assorted bad connections, then a normal client: the broker is still there."""
    payloads = [
        struct.pack(">i", 1 << 30),
        framed(b"\xff" * 3),
        framed(header_bytes(32000, 0)),
        framed(header_bytes(METADATA, 99)),
        b"\x00\x00",
    ]
    clients = [RawClient(broker) for _ in range(20)]
    for i, client in enumerate(clients):
        client.send_bytes(payloads[i % len(payloads)])
    for client in clients:
        client.close()
    survivor = RawClient(broker)
    try:
        assert survivor.api_versions_works()
    finally:
        survivor.close()
    assert broker.process is not None and broker.process.poll() is None

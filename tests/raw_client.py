"""A Kafka client on a plain socket, for requests no client library sends on purpose.

Whole requests out, whole responses in, with the project's own codec; raw bytes too, for bad input.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Any

from protocol.api import lookup
from protocol.headers import RequestHeader, decode_response, encode_request
from protocol.messages.fetch import FetchPartition, FetchRequest, FetchResponse, FetchTopic
from protocol.messages.list_offsets import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopic,
)
from protocol.messages.metadata import MetadataRequest, MetadataRequestTopic
from protocol.messages.produce import PartitionProduceData, ProduceRequest, ProduceResponse, TopicProduceData
from protocol.records import Compression, Record, build_batch, iter_batches, iter_records
from protocol.schema import Struct
from tests.harness import BrokerProcess

SOCKET_TIMEOUT_S = 20.0


class RawClient:
    """Whole requests out, whole responses in, on one plain socket."""

    def __init__(
        self,
        broker: BrokerProcess,
        timeout_s: float = SOCKET_TIMEOUT_S,
        port: int | None = None,
        client_id: str = "raw",
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port or broker.port), timeout=timeout_s)
        self.correlation_id = 0
        self.client_id = client_id

    @property
    def address(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"{host}:{port}"

    def send(self, api_key: int, version: int, body: Struct) -> int:
        self.correlation_id += 1
        header = RequestHeader(
            request_api_key=api_key,
            request_api_version=version,
            correlation_id=self.correlation_id,
            client_id=self.client_id,
        )
        self.sock.sendall(encode_request(header, body))
        return self.correlation_id

    def send_bytes(self, data: bytes) -> None:
        """Anything at all, framed or not: for bad input."""
        self.sock.sendall(data)

    def receive(self, api_key: int, version: int) -> Any:
        header, body = decode_response(lookup(api_key), version, self.read_frame())
        assert header.correlation_id == self.correlation_id
        return body

    def read_frame(self) -> bytes:
        (size,) = struct.unpack(">i", self._read_exactly(4))
        return self._read_exactly(size)

    def reads_eof(self) -> bool:
        """True when the broker closed this connection (a FIN, or a reset if our bytes were unread)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def request(self, api_key: int, version: int, body: Struct) -> Any:
        self.send(api_key, version, body)
        return self.receive(api_key, version)

    def _read_exactly(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError(f"broker closed the connection after {len(out)} of {n} bytes")
            out += chunk
        return bytes(out)

    def close(self) -> None:
        self.sock.close()

    # -- the requests the tests send ---------------------------------------------------------------
    def create_topic(self, topic: str) -> None:
        """Auto-create ``topic`` through Metadata (v4+ asks for it explicitly)."""
        self.request(3, 9, MetadataRequest(topics=[MetadataRequestTopic(name=topic)], allow_auto_topic_creation=True))

    def produce(
        self, topic: str, records: bytes, version: int = 9, acks: int = -1, partition: int = 0
    ) -> ProduceResponse:
        body = ProduceRequest(
            acks=acks,
            timeout_ms=10000,
            topic_data=[
                TopicProduceData(name=topic, partition_data=[PartitionProduceData(index=partition, records=records)])
            ],
        )
        result: ProduceResponse = self.request(0, version, body)
        return result

    def fetch(self, topic: str, offset: int, version: int = 11, max_wait_ms: int = 0, **kw: Any) -> FetchResponse:
        body = FetchRequest(
            max_wait_ms=max_wait_ms,
            min_bytes=kw.pop("min_bytes", 1),
            max_bytes=kw.pop("max_bytes", 50 << 20),
            topics=[
                FetchTopic(
                    topic=topic,
                    partitions=[
                        FetchPartition(
                            partition=0, fetch_offset=offset, partition_max_bytes=kw.pop("partition_max_bytes", 1 << 20)
                        )
                    ],
                )
            ],
            **kw,
        )
        result: FetchResponse = self.request(1, version, body)
        return result

    def latest_offset(self, topic: str) -> int:
        body = ListOffsetsRequest(
            replica_id=-1,
            topics=[ListOffsetsTopic(name=topic, partitions=[ListOffsetsPartition(partition_index=0, timestamp=-1)])],
        )
        result: ListOffsetsResponse = self.request(2, 5, body)
        return int(result.topics[0].partitions[0].offset)


def batch(*values: bytes, compression: Compression = Compression.NONE, **kw: Any) -> bytes:
    now = int(time.time() * 1000)
    records = [Record(i, now, b"k", v, []) for i, v in enumerate(values)]
    return build_batch(records, base_offset=0, compression=compression, **kw)


def values_in(records: bytes | memoryview | None) -> list[bytes | None]:
    return [r.value for _, view in iter_batches(records or b"") for r in iter_records(view)]

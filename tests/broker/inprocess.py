"""An in-process broker for fast tests of broker internals: a real ``Broker`` on a free port in the
test's own event loop, its logs as real files in ``tmp_path``, and clients on real sockets.

Tests are plain functions that call ``asyncio.run`` on their body (no pytest plugin needed)::

    def test_something(tmp_path: Path) -> None:
        async def body() -> None:
            async with running_broker(tmp_path) as broker:
                await create_topic(broker, "t")
                client = await AsyncClient.connect(broker)
                ...
        asyncio.run(body())
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from broker.config import BrokerConfig
from broker.partition import Partition
from broker.server import Broker
from protocol.api import lookup
from protocol.headers import RequestHeader, decode_response, encode_request
from protocol.messages.fetch import FetchPartition, FetchRequest, FetchResponse, FetchTopic
from protocol.messages.produce import PartitionProduceData, ProduceRequest, ProduceResponse, TopicProduceData
from protocol.records import Record, build_batch
from protocol.schema import Struct

TIMEOUT_S = 20.0


@asynccontextmanager
async def running_broker(tmp_path: Path, **overrides: str) -> AsyncIterator[Broker]:
    props = {"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": str(tmp_path / "kafka-logs"), **overrides}
    broker = Broker(BrokerConfig.from_properties(props))
    await broker.start()
    try:
        yield broker
    finally:
        await broker.shutdown()


async def create_topic(
    broker: Broker, name: str, partitions: int = 1, configs: dict[str, Any] | None = None
) -> list[Partition]:
    """Create ``name`` through the controller (this broker leads every partition)."""
    await broker.controller.create_topic(name, [[broker.node_id]] * partitions, dict(configs or {}))
    return [broker.replica_manager.partitions[(name, i)] for i in range(partitions)]


def records(*values: bytes, key: bytes | None = b"k", timestamp: int | None = None) -> bytes:
    import time

    now = int(time.time() * 1000) if timestamp is None else timestamp
    return build_batch([Record(i, now, key, v, []) for i, v in enumerate(values)])


class AsyncClient:
    """Whole requests out, whole responses in, over a real socket, with the project's codec."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.correlation_id = 0

    @classmethod
    async def connect(cls, broker: Broker) -> AsyncClient:
        port = broker.listeners[0].port
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 26)
        return cls(reader, writer)

    async def send(self, api_key: int, version: int, body: Struct) -> int:
        self.correlation_id += 1
        header = RequestHeader(
            request_api_key=api_key, request_api_version=version, correlation_id=self.correlation_id, client_id="t"
        )
        self.writer.write(encode_request(header, body))
        await self.writer.drain()
        return self.correlation_id

    async def receive(self, api_key: int, version: int) -> tuple[int, Any]:
        """(correlation id, body) of the next response."""
        size = struct.unpack(">i", await asyncio.wait_for(self.reader.readexactly(4), TIMEOUT_S))[0]
        frame = await asyncio.wait_for(self.reader.readexactly(size), TIMEOUT_S)
        header, body = decode_response(lookup(api_key), version, frame)
        return header.correlation_id, body

    async def request(self, api_key: int, version: int, body: Struct) -> Any:
        sent = await self.send(api_key, version, body)
        correlation_id, answer = await self.receive(api_key, version)
        assert correlation_id == sent
        return answer

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


def produce_request(
    topic: str, data: bytes, acks: int = 1, partition: int = 0, timeout_ms: int = 10000
) -> ProduceRequest:
    return ProduceRequest(
        acks=acks,
        timeout_ms=timeout_ms,
        topic_data=[TopicProduceData(name=topic, partition_data=[PartitionProduceData(index=partition, records=data)])],
    )


def fetch_request(topic: str, offset: int, max_wait_ms: int = 0, min_bytes: int = 1) -> FetchRequest:
    return FetchRequest(
        max_wait_ms=max_wait_ms,
        min_bytes=min_bytes,
        max_bytes=50 << 20,
        topics=[
            FetchTopic(
                topic=topic, partitions=[FetchPartition(partition=0, fetch_offset=offset, partition_max_bytes=1 << 20)]
            )
        ],
    )


def produce_answer(response: ProduceResponse) -> Any:
    return response.responses[0].partition_responses[0]


def fetch_answer(response: FetchResponse) -> Any:
    return response.responses[0].partitions[0]

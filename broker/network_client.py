"""An asyncio client for inter-broker requests: the controller's channel now, replica fetchers later.

``NetworkClient`` keeps one connection per destination broker (Kafka's NetworkClient keeps one per
node too) and sends whole requests with the project's codec (``protocol.headers``), one at a time per
connection, answering each ``request`` with the decoded response body. A failed connection (refused,
reset, timed out, an undecodable answer) is closed and raises ``BrokerUnreachable``; the next request
to that broker connects again. Callers decide about retries (the controller's channel retries while the
destination is alive).

Not thread-safe: the broker's event loop owns it. The per-destination ``asyncio.Lock`` only keeps
requests on one socket in order; it guards no broker state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass, field
from typing import Any

from protocol.api import Api
from protocol.exceptions import DecodeError
from protocol.headers import RequestHeader, decode_response, encode_request
from protocol.schema import Struct

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 30.0  # request.timeout.ms, Kafka's default for the controller's channel


class BrokerUnreachable(Exception):
    """The request could not be sent, or no answer came back."""


@dataclass(slots=True)
class _Connection:
    host: str
    port: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class NetworkClient:
    def __init__(self, client_id: str, request_timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.client_id = client_id
        self.request_timeout_s = request_timeout_s
        self._connections: dict[int, _Connection] = {}
        self._correlation_id = 0

    async def request(self, node: int, host: str, port: int, api: Api, version: int, body: Struct) -> Any:
        """Send ``body`` to broker ``node`` at ``host:port``; its response body. BrokerUnreachable on failure."""
        connection = self._connections.get(node)
        if connection is None or (connection.host, connection.port) != (host, port):
            if connection is not None:
                connection.close()
            connection = self._connections[node] = _Connection(host, port)
        async with connection.lock:
            try:
                return await asyncio.wait_for(self._exchange(connection, api, version, body), self.request_timeout_s)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, DecodeError) as exc:
                connection.close()
                raise BrokerUnreachable(f"{api.name} to broker {node} at {host}:{port} failed: {exc!r}") from exc

    async def _exchange(self, connection: _Connection, api: Api, version: int, body: Struct) -> Any:
        if connection.writer is None or connection.writer.is_closing():
            connection.reader, connection.writer = await asyncio.wait_for(
                asyncio.open_connection(connection.host, connection.port), CONNECT_TIMEOUT_S
            )
        assert connection.reader is not None and connection.writer is not None
        self._correlation_id = (self._correlation_id + 1) & 0x7FFFFFFF
        correlation_id = self._correlation_id
        header = RequestHeader(
            request_api_key=api.key, request_api_version=version, correlation_id=correlation_id,
            client_id=self.client_id,
        )  # fmt: skip
        connection.writer.write(encode_request(header, body))
        await connection.writer.drain()
        (size,) = struct.unpack(">i", await connection.reader.readexactly(4))
        frame = await connection.reader.readexactly(size)
        response_header, response = decode_response(api, version, frame)
        if response_header.correlation_id != correlation_id:
            raise DecodeError(
                f"correlation id {response_header.correlation_id}, expected {correlation_id}", message=api.name
            )
        return response

    def disconnect(self, node: int) -> None:
        connection = self._connections.pop(node, None)
        if connection is not None:
            connection.close()

    async def close(self) -> None:
        for node in list(self._connections):
            connection = self._connections.pop(node)
            writer = connection.writer
            connection.close()
            if writer is not None:
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

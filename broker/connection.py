"""One client socket: frames in, requests handled (possibly concurrently), responses out in order.

Invariants:
- Responses leave in the order their requests arrived, whatever order the handlers finish in. A
  request that gets no response (acks=0 produce) still takes its turn, so later responses wait for it.
- At most ``MAX_IN_FLIGHT`` requests of one connection are being handled at once; reading pauses
  beyond that, which pushes back on a client that pipelines without reading.
- Bad input is the client's fault and closes this connection only, with one log line: a frame over
  ``socket.request.max.bytes``, a header or body that does not decode, an unknown API key or an
  unsupported version (but a too-new ApiVersions request gets Kafka's KIP-511 answer). Bytes after a
  complete request body are ignored, as Kafka ignores them.
- Stored record batches are not copied through Python: a ``FileBackedResponse`` (Fetch) is written as
  its bytes with the file chunks in between sent by ``loop.sendfile`` (which falls back to reading for
  transports that cannot); every chunk's descriptor is closed once sent or abandoned
  (``broker.zerocopy``).
- A handler that raises is a broker bug: it is logged with its traceback and the connection closes,
  because the client cannot be told which of its requests failed in a way every client understands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from typing import TYPE_CHECKING

from broker.dispatcher import HANDLERS, CloseConnection, Handler, RequestContext
from broker.handlers.api_versions import unsupported_api_versions_response
from broker.zerocopy import FileBackedResponse, Outgoing, send
from protocol import codec
from protocol.api import lookup
from protocol.exceptions import ProtocolError
from protocol.headers import RequestHeader, decode_request_header, encode_response, peek_api
from protocol.schema import Struct

if TYPE_CHECKING:
    from broker.server import Broker

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 64
_SIZE = struct.Struct(">i")
_API_VERSIONS = 18
_FLUSH_AT = 1 << 20

Response = bytes | bytearray | Outgoing | None


class ClientError(Exception):
    """The client sent something we close the connection for."""


class Connection:
    def __init__(
        self, broker: Broker, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener: str
    ) -> None:
        self.broker = broker
        self.reader = reader
        self.writer = writer
        self.listener = listener
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.host, self.port = str(peer[0]), int(peer[1])
        self.max_request_size: int = broker.config.get("socket.request.max.bytes")
        self._responses: asyncio.Queue[asyncio.Task[Response] | None] = asyncio.Queue(MAX_IN_FLIGHT)
        self._receiver: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"connection from {self.host}:{self.port}"

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_in_order(), name=f"send {self!r}")
        self._receiver = asyncio.create_task(self._receive(), name=f"receive {self!r}")
        try:
            await asyncio.wait([self._receiver])  # returns when it ends, whether it failed or was stopped
            if not self._receiver.cancelled():
                exc = self._receiver.exception()
                if isinstance(exc, ClientError):
                    log.warning("closing %r: %s", self, exc)
                elif exc is not None and not isinstance(exc, ConnectionError | asyncio.IncompleteReadError):
                    log.error("closing %r after a broker error", self, exc_info=exc)
        finally:
            # Whatever ended the reading, the requests already read are answered before the socket closes.
            self._receiver.cancel()
            await self._responses.put(None)
            try:
                await sender
            except (ConnectionError, asyncio.CancelledError):
                pass
            except Exception:
                log.exception("closing %r after a broker error", self)
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()

    def stop_reading(self) -> None:
        """Shutdown: read no more requests; those already read are still answered."""
        if self._receiver is not None:
            self._receiver.cancel()

    async def _receive(self) -> None:
        while not self.broker.stopping:
            try:
                head = await self.reader.readexactly(4)
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    raise ClientError("connection closed in the middle of a frame size") from None
                return
            (size,) = _SIZE.unpack(head)
            if size < 0 or size > self.max_request_size:
                raise ClientError(f"frame of {size} bytes is over socket.request.max.bytes={self.max_request_size}")
            try:
                frame = await self.reader.readexactly(size)
            except asyncio.IncompleteReadError:
                raise ClientError(f"connection closed in the middle of a {size}-byte frame") from None
            task = self._start(frame)
            await self._responses.put(task)

    def _start(self, frame: bytes) -> asyncio.Task[Response]:
        """Decode the request now (so bad bytes close the socket before anything else) and run it."""
        view = memoryview(frame)
        try:
            key, version = peek_api(view)
            registration = HANDLERS.get(key)
            if key == _API_VERSIONS and (registration is None or version > registration.max_version):
                return asyncio.ensure_future(self._unsupported_api_versions(view, version))
            if registration is None:
                raise ClientError(f"unsupported API key {key}")
            if version not in registration.versions:
                raise ClientError(f"unsupported version {version} of {registration.api.name}")
            api = registration.api
            header, pos = decode_request_header(view, api, version)
            body, end = codec.decode(api.request, view, version, pos)
            if end != len(view):
                # Kafka reads the fields it knows and ignores the rest, and clients rely on it: librdkafka
                # 2.x writes Metadata v11+ with the include_cluster_authorized_operations removed in v11.
                log.debug("%d bytes after a %s v%d request from %r ignored", len(view) - end, api.name, version, self)
        except ProtocolError as exc:
            raise ClientError(str(exc)) from None
        ctx = RequestContext(self.broker, api, header, self.host, self.port, self.listener)
        return asyncio.ensure_future(self._handle(ctx, registration.handler, body))

    async def _handle(self, ctx: RequestContext, handler: Handler, body: Struct) -> Response:
        response = await handler(ctx, body)
        if response is None:
            return None
        if isinstance(response, FileBackedResponse):
            return response.encode(ctx.api, ctx.version, ctx.header.correlation_id)
        return encode_response(ctx.api, ctx.version, ctx.header.correlation_id, response)

    async def _unsupported_api_versions(self, view: memoryview, version: int) -> bytes | bytearray:
        """KIP-511: answer a too-new ApiVersions with UNSUPPORTED_VERSION in a v0 body."""
        api = lookup(_API_VERSIONS)
        try:
            header, _ = codec.decode(RequestHeader, view, 2 if version >= 3 else 1)
        except ProtocolError as exc:
            raise ClientError(str(exc)) from None
        return encode_response(api, 0, header.correlation_id, unsupported_api_versions_response())

    async def _send_in_order(self) -> None:
        while True:
            task = await self._responses.get()
            if task is None:
                return
            try:
                data = await task
            except CloseConnection as exc:
                log.info("closing %r: %s", self, exc)
                self.stop_reading()
                self.writer.close()  # a graceful close: earlier responses already written still go out
                await self._drain_rest()
                return
            except Exception:
                log.exception("request from %r failed in its handler", self)
                self.writer.transport.abort()
                await self._drain_rest()
                return
            if data is None:
                if self._responses.empty():
                    await self.writer.drain()
                continue
            if isinstance(data, Outgoing):
                await send(self.writer, data)
            else:
                self.writer.write(data)
            if self.writer.transport.get_write_buffer_size() > _FLUSH_AT:
                await self.writer.drain()

    async def _drain_rest(self) -> None:
        while True:
            task = await self._responses.get()
            if task is None:
                return
            task.cancel()
            if task.done() and not task.cancelled() and task.exception() is None:
                result = task.result()
                if isinstance(result, Outgoing):
                    result.close()

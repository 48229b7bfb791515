"""One client socket: frames in, requests handled (possibly concurrently), responses out in order.

Invariants:
- Responses leave in the order their requests arrived, whatever order the handlers finish in. A
  request that gets no response (acks=0 produce) still takes its turn, so later responses wait for it.
- At most ``MAX_IN_FLIGHT`` requests of one connection are read and not yet answered; reading pauses
  beyond that, or while the bytes held (below) and the requests waiting to start reach
  ``MAX_HELD_BYTES``, which pushes back on a client that pipelines without reading.
- The answers a connection holds unsent are bounded in bytes, not only in number: a request starts
  only while the bytes held (answers done but not yet written, the transport's buffer, and a Fetch's
  ``max_bytes`` reserved while it runs) stay under ``MAX_HELD_BYTES``; the first always may. Requests
  start in arrival order. File regions count as bytes too, so the descriptors they pin are bounded.
- When the client goes away (end of stream, a reset, a failed write) or stays idle for
  ``connections.max.idle.ms``, the socket closes at once and nothing more is written. Requests
  already read still run to their end, as Kafka handles what it has read (an acks=0 produce is
  appended), but their answers are dropped and their file regions closed; Fetches, which change
  nothing, are cancelled, so a long poll does not outlive its client.
- Bad input is the client's fault and closes this connection only, with one log line: a frame over
  ``socket.request.max.bytes``, a header or body that does not decode, an unknown API key or an
  unsupported version (but a too-new ApiVersions request gets Kafka's KIP-511 answer). Bytes after a
  complete request body are ignored, as Kafka ignores them. The requests read before it are answered.
- Stored record batches are not copied through Python: a ``FileBackedResponse`` (Fetch) is written as
  its bytes with the file chunks in between sent by ``loop.sendfile`` (``broker.zerocopy``); every
  chunk's descriptor is closed once sent or abandoned.
- A handler that raises is a broker bug: it is logged with its traceback and the connection closes,
  because the client cannot be told which of its requests failed in a way every client understands.
- On a SASL listener nothing is dispatched before the client has authenticated
  (``broker.security.authenticator``): until then frames are at most ``sasl.server.max.receive.size``
  bytes, each is answered before the next is read (the SASL state decides how the next one is read), only
  ApiVersions, SaslHandshake and SaslAuthenticate pass, and after a v0 handshake frames are bare SASL
  tokens answered by bare tokens. A failed authentication is answered (after
  ``connection.failed.authentication.delay.ms``), then the connection closes.
- With ``connections.max.reauth.ms`` set, an authenticated session expires: its next request closes the
  connection unless it is a SaslHandshake beginning a re-authentication (KIP-368), which is then read
  and answered one frame at a time like the first authentication.
- Client quotas (``broker.quotas``): a request over its quota comes back with a throttle time
  (``RequestContext.throttle_ms``, or the request quota's share of handler time measured here); from
  then on no further request of the connection is read until it has passed (Kafka mutes the
  channel). KIP-219: a client that throttles itself gets the answer at once, an older one after it.
  The requests of a connection that a client quota holds are handled one at a time (as Kafka handles
  a channel's), so requests pipelined behind a throttled one wait for the throttle too.
- This module knows handlers only through the dispatcher's registry, never a handler module.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import struct
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from broker.dispatcher import HANDLERS, CloseConnection, Handler, RequestContext, unsupported_api_versions_response
from broker.quotas.manager import REQUEST, HandlerTimer, client_throttles, principal_name, request_quota_exempt
from broker.security.authenticator import UnexpectedRequest
from broker.zerocopy import FileBackedResponse, Outgoing, send
from protocol import codec
from protocol.api import lookup
from protocol.exceptions import ProtocolError
from protocol.headers import RequestHeader, decode_request_header, encode_response, peek_api
from protocol.messages.fetch import FETCH
from protocol.schema import Struct

if TYPE_CHECKING:
    from broker.components import BrokerComponents
    from broker.security.authenticator import ConnectionSecurity

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 64
MAX_HELD_BYTES = 64 << 20
_SIZE = struct.Struct(">i")
_API_VERSIONS = 18
_SASL_HANDSHAKE_KEY = struct.pack(">h", 17)
_FLUSH_AT = 1 << 20
# Read-only requests that may wait long (a Fetch's long poll): cancelled when their client goes away.
_EXPENDABLE = frozenset({FETCH.key})
_CONNECTION_INDEX = itertools.count()  # the last part of Kafka's connection ids

Response = bytes | bytearray | Outgoing | None


class ClientError(Exception):
    """The client sent something we close the connection for."""


class _ClientGone(Exception):
    """The client closed or reset the connection, or a write to it failed."""


@dataclass(slots=True, eq=False)
class _Request:
    """A request read from the socket, in arrival order, until its answer is written or dropped."""

    start: Callable[[], Coroutine[Any, Any, Response]] | None  # the handler's run, until it starts
    reserve: int = 0  # bytes its answer may hold, charged when it starts (a Fetch's max_bytes)
    expendable: bool = False
    answer: asyncio.Future[Response] | None = None
    held: int = 0  # bytes charged for it against MAX_HELD_BYTES
    frame_size: int = 0  # the request's own bytes, counted until it starts
    sent: bool = False


def _size(response: Response) -> int:
    if response is None:
        return 0
    if isinstance(response, Outgoing):
        return response.size
    return len(response)


def _user(ctx: RequestContext) -> str:
    """The user quotas know the connection's principal by."""
    return principal_name(ctx.security.principal) if ctx.security is not None else "ANONYMOUS"


def _drop(answer: asyncio.Future[Response]) -> None:
    """The answer of a client that went away: close its file regions; a broker bug is still logged."""
    if answer.cancelled():
        return
    exc = answer.exception()
    if exc is None:
        result = answer.result()
        if isinstance(result, Outgoing):
            result.close()
    elif not isinstance(exc, CloseConnection | ClientError | ConnectionError):
        log.error("a request failed in its handler after its client left", exc_info=exc)


class Connection:
    def __init__(
        self,
        components: BrokerComponents,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        listener: str,
        security: ConnectionSecurity | None = None,
    ) -> None:
        self.components = components
        self.security = security
        self._sasl = security.sasl if security is not None else None
        self.reader = reader
        self.writer = writer
        self.listener = listener
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.host, self.port = str(peer[0]), int(peer[1])
        local = writer.get_extra_info("sockname") or ("?", 0)
        self.connection_id = f"{local[0]}:{local[1]}-{self.host}:{self.port}-{next(_CONNECTION_INDEX)}"
        self.max_request_size: int = components.config.get("socket.request.max.bytes")
        self._fetch_max_bytes: int = components.config.get("fetch.max.bytes")
        self._loop = asyncio.get_running_loop()
        self.last_active = self._loop.time()  # a frame read or an answer written
        self._pending: deque[_Request] = deque()
        self._unstarted = 0  # the last ``_unstarted`` of ``_pending`` wait for bytes to be released
        self._held = 0
        self._queued = 0  # the frames of the requests not started yet
        self._room = asyncio.Event()  # for the receiver: fewer requests pending, or the client left
        self._ready = asyncio.Event()  # for the sender: a request started, or reading ended
        self._reading_done = False
        self._peer_closed = False
        self._closing = False
        self._idle_closed = False
        self._left: set[asyncio.Future[Response]] = set()  # requests still running for a client gone
        self._receiver: asyncio.Task[None] | None = None
        self._writing: _Request | None = None
        self._sender: asyncio.Task[None] | None = None
        self._mute_until = 0.0  # loop time until which no request is read (a client quota's throttle)
        self._turn: asyncio.Future[None] | None = None  # with client quotas: the request handled last

    def __repr__(self) -> str:
        return f"connection from {self.host}:{self.port}"

    # -- life cycle --------------------------------------------------------------------------------
    async def run(self) -> None:
        self._sender = sender = asyncio.create_task(self._send_in_order(), name=f"send {self!r}")
        self._receiver = asyncio.create_task(self._receive(), name=f"receive {self!r}")
        try:
            await asyncio.wait([self._receiver])  # returns when it ends, whether it failed or was stopped
            exc = None if self._receiver.cancelled() else self._receiver.exception()
            if isinstance(exc, ClientError):
                log.warning("closing %r: %s", self, exc)
            elif isinstance(exc, _ClientGone | ConnectionError | asyncio.IncompleteReadError):
                self._abandon()
            elif exc is not None:
                log.error("closing %r after a broker error", self, exc_info=exc)
                self._abandon()
            # Unless the client left, the requests already read are answered before the socket closes.
            self._reading_done = True
            self._ready.set()
            await asyncio.wait([sender])
            if not sender.cancelled() and sender.exception() is not None:
                log.error("closing %r after a broker error", self, exc_info=sender.exception())
                self._abandon()
            if self._left:  # the socket is closed already; the rest runs to its end without it
                await asyncio.wait(self._left)
        except asyncio.CancelledError:  # shutdown ran out of patience: stop everything
            self._abandon()
            for answer in self._left:
                answer.cancel()
            raise
        finally:
            self._receiver.cancel()
            sender.cancel()
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()

    def stop_reading(self) -> None:
        """Shutdown: read no more requests; those already read are still answered."""
        if self._receiver is not None:
            self._receiver.cancel()

    def peer_closed(self) -> None:
        """The transport saw the end of the stream or lost the connection (called by its protocol)."""
        self._peer_closed = True
        self._room.set()

    def close_idle(self) -> None:
        """``connections.max.idle.ms`` passed without a byte read or written."""
        if self._idle_closed:
            return
        self._idle_closed = True
        log.debug("closing %r: idle for more than connections.max.idle.ms", self)
        self._abandon()
        self.writer.transport.abort()  # also when a graceful close waits for a client that does not read

    @property
    def closing(self) -> bool:
        return self._closing

    def _abandon(self, graceful: bool = False) -> None:
        """Close the socket now (``graceful``: after the bytes already handed to the transport) and drop
        the answers still to come. Requests read still run, except expendable ones (see the module notes)."""
        if self._closing:
            return
        self._closing = True
        if self._writing is not None and self._sender is not None and self._sender is not asyncio.current_task():
            # The write in progress unwinds first: asyncio's sendfile fails if its transport is closed
            # under it (CPython 3.11: InvalidStateError in _call_connection_lost); this runs before.
            self._sender.cancel()
        if graceful:
            self.writer.close()
        else:
            self.writer.transport.abort()
        if self._receiver is not None:
            self._receiver.cancel()
        for request in self._pending:
            if request is self._writing:
                continue  # the sender closes what it was writing (its file regions may be in use)
            if request.answer is None:
                if request.expendable or request.start is None:
                    continue
                request.answer = asyncio.ensure_future(request.start())
            elif request.expendable:
                request.answer.cancel()
            self._left.add(request.answer)
            request.answer.add_done_callback(self._left.discard)
            request.answer.add_done_callback(_drop)
        self._pending.clear()
        self._unstarted = self._held = self._queued = 0
        self._ready.set()
        self._room.set()

    # -- reading -----------------------------------------------------------------------------------
    async def _receive(self) -> None:
        while not self.components.stopping and not self._closing:
            while self._full() and not self._peer_closed:
                self._room.clear()
                await self._room.wait()
            try:
                head = await self.reader.readexactly(4)
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    raise ClientError("connection closed in the middle of a frame size") from None
                raise _ClientGone() from None
            (size,) = _SIZE.unpack(head)
            sasl = self._sasl if self._sasl is not None and not self._sasl.complete else None
            if sasl is not None and not 0 <= size <= sasl.security.max_receive_size:
                raise ClientError(
                    f"Invalid SASL frame of {size} bytes, over sasl.server.max.receive.size="
                    f"{sasl.security.max_receive_size}, before authentication"
                )
            if size < 0 or size > self.max_request_size:
                raise ClientError(f"frame of {size} bytes is over socket.request.max.bytes={self.max_request_size}")
            try:
                frame = await self.reader.readexactly(size)
            except asyncio.IncompleteReadError:
                raise ClientError(f"connection closed in the middle of a {size}-byte frame") from None
            self.last_active = self._loop.time()
            while (muted := self._mute_until - self._loop.time()) > 0:  # throttled: as if not read yet
                await asyncio.sleep(muted)
            if self._sasl is not None and self._sasl.complete:  # KIP-368: an expired session re-authenticates
                starts_reauthentication = len(frame) >= 2 and frame[:2] == _SASL_HANDSHAKE_KEY
                if self._sasl.expired() and not starts_reauthentication:
                    raise ClientError("SASL session expired (connections.max.reauth.ms) without re-authentication")
                if starts_reauthentication:
                    sasl = self._sasl
            request = self._raw_sasl_token(frame) if sasl is not None and sasl.raw else self._parse(frame)
            request.frame_size = size
            self._pending.append(request)
            self._unstarted += 1
            self._queued += size
            self._start_ready()
            if sasl is not None:  # authenticating: the answer decides how the next frame is read
                while request.answer is None:  # behind requests waiting for bytes (a re-authentication)
                    if self._closing or self._peer_closed:
                        return
                    self._room.clear()
                    await self._room.wait()
                await asyncio.wait([request.answer])
                if sasl.failed:
                    if not request.answer.cancelled() and request.answer.exception() is None:
                        await asyncio.sleep(sasl.security.failed_delay_s)
                    return  # the answers read are sent, then the connection closes

    def _raw_sasl_token(self, frame: bytes) -> _Request:
        """A bare SASL token after a v0 SaslHandshake: the answer is a bare token, or nothing on failure."""
        assert self._sasl is not None
        answer, failure = self._sasl.evaluate(frame)
        request = _Request(None)
        request.answer = self._loop.create_future()
        request.answer.set_result(None if failure is not None else _SIZE.pack(len(answer)) + answer)
        return request

    def _full(self) -> bool:
        """Reading pauses: too many requests pending, or too many bytes held."""
        return len(self._pending) >= MAX_IN_FLIGHT or self._held + self._queued >= MAX_HELD_BYTES

    def _parse(self, frame: bytes) -> _Request:
        """Decode the request now (so bad bytes close the socket before anything else)."""
        view = memoryview(frame)
        try:
            key, version = peek_api(view)
            registration = HANDLERS.get(key)
            if self._sasl is not None and not self._sasl.complete:
                self._check_sasl_state(key, registration)
            if key == _API_VERSIONS and (registration is None or version > registration.max_version):
                return self._unsupported_api_versions(view, version)
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
        if key == _API_VERSIONS and self._sasl is not None:
            self._sasl.api_versions_answered()
        ctx = RequestContext(
            self.components, api, header, self.host, self.port, self.listener, self.security, self.connection_id
        )
        ctx.request_size = len(frame)  # Kafka's request.sizeInBytes: header and body
        handler = registration.handler
        request = _Request(None)
        request.start = lambda: self._handle(ctx, handler, body, request)
        if key in _EXPENDABLE:
            request.expendable = True
        if key == FETCH.key:
            request.reserve = max(0, min(getattr(body, "max_bytes", self._fetch_max_bytes), self._fetch_max_bytes))
        return request

    def _check_sasl_state(self, key: int, registration: Any) -> None:
        assert self._sasl is not None
        name = registration.api.name if registration is not None else f"API_KEY_{key}"
        try:
            self._sasl.check_request(key, name)
        except UnexpectedRequest as exc:
            raise ClientError(f"Failed authentication with /{self.host} ({exc})") from None

    def _unsupported_api_versions(self, view: memoryview, version: int) -> _Request:
        """KIP-511: answer a too-new ApiVersions with UNSUPPORTED_VERSION in a v0 body."""
        try:
            header, _ = codec.decode(RequestHeader, view, 2 if version >= 3 else 1)
        except ProtocolError as exc:
            raise ClientError(f"ApiVersions v{version} request header: {exc}") from None
        data = encode_response(lookup(_API_VERSIONS), 0, header.correlation_id, unsupported_api_versions_response())
        request = _Request(None)
        request.answer = self._loop.create_future()
        request.answer.set_result(data)
        return request

    # -- handling ----------------------------------------------------------------------------------
    def _start_ready(self) -> None:
        """Start waiting requests, in order, while the bytes held allow (the first always may)."""
        while self._unstarted:
            request = self._pending[len(self._pending) - self._unstarted]
            if request.answer is None:
                if self._held and self._held + request.reserve > MAX_HELD_BYTES:
                    return
                assert request.start is not None
                request.answer = asyncio.ensure_future(request.start())
                request.held = request.reserve
                self._held += request.reserve
                request.answer.add_done_callback(functools.partial(self._done, request))
            request.start = None
            self._unstarted -= 1
            self._queued -= request.frame_size
            self._ready.set()

    def _done(self, request: _Request, answer: asyncio.Future[Response]) -> None:
        """Charge a finished answer's real size (more than its reserve, or less) while it waits to be sent."""
        if self._closing or request.sent or answer.cancelled() or answer.exception() is not None:
            return
        size = _size(answer.result())
        self._held += size - request.held
        request.held = size

    async def _handle(self, ctx: RequestContext, handler: Handler, body: Struct, request: _Request) -> Response:
        quotas = self.components.client_quotas
        if quotas is not None and quotas.applies(_user(ctx), ctx.client_id):
            return await self._handle_in_turn(ctx, handler, body, request)
        return await self._handle_now(ctx, handler, body, request)

    async def _handle_in_turn(self, ctx: RequestContext, handler: Handler, body: Struct, request: _Request) -> Response:
        """With client quotas, a connection's requests are handled one after the other, each once the
        connection is no longer muted, as Kafka handles them (one request of a channel at a time), so
        a throttle holds back what the client pipelined after the throttled request."""
        previous, turn = self._turn, self._loop.create_future()
        self._turn = turn
        try:
            if previous is not None:
                await asyncio.wait([previous])
            while (muted := self._mute_until - self._loop.time()) > 0:
                await asyncio.sleep(muted)
            return await self._handle_now(ctx, handler, body, request)
        finally:
            turn.set_result(None)

    async def _handle_now(self, ctx: RequestContext, handler: Handler, body: Struct, request: _Request) -> Response:
        faults = self.components.faults
        run = handler(ctx, body) if faults is None else faults.run(ctx, handler, body)
        quotas = self.components.client_quotas
        if quotas is None or not quotas.enabled(REQUEST) or request_quota_exempt(ctx.api.key, body):
            response = await run
        else:
            timer = HandlerTimer()
            response = await timer.run(run)
            throttle = quotas.record(REQUEST, _user(ctx), ctx.client_id, timer.elapsed_ns)
            if throttle > ctx.throttle_ms:
                ctx.throttle_ms = throttle
                answer = response.body if isinstance(response, FileBackedResponse) else response
                if answer is not None and hasattr(answer, "throttle_time_ms"):
                    answer.throttle_time_ms = throttle
        if ctx.throttle_ms > 0:
            await self._throttle(ctx)
        if response is None:
            return None
        if isinstance(response, FileBackedResponse):
            return response.encode(ctx.api, ctx.version, ctx.header.correlation_id)
        data = encode_response(ctx.api, ctx.version, ctx.header.correlation_id, response)
        self._write_at_once(request, data)
        return data

    async def _throttle(self, ctx: RequestContext) -> None:
        """Mute the connection for the request's throttle time; a client too old to throttle itself
        (KIP-219) gets its answer only once the time has passed."""
        delay = ctx.throttle_ms / 1000
        self._mute_until = max(self._mute_until, self._loop.time() + delay)
        if not client_throttles(ctx.api.key, ctx.version):
            await asyncio.sleep(delay)

    def _write_at_once(self, request: _Request, data: bytes | bytearray) -> None:
        """An answer next in line goes out in its handler's own step when nothing else is being
        written and the transport's buffer is empty (the usual case of a client waiting for it),
        rather than after the sender's turn comes: a response then leaves before whatever its
        handler set going runs (the markers an EndTxn starts). The sender skips it."""
        if (
            self._closing
            or self._writing is not None
            or not self._pending
            or self._pending[0] is not request
            or (self._sasl is not None and not self._sasl.complete)
            or self.writer.transport.get_write_buffer_size()
        ):
            return
        self.writer.write(data)
        self._sent(request)

    def _sent(self, request: _Request) -> None:
        """``request`` (the first pending) is answered: release what it held, let more in."""
        self._pending.popleft()
        request.sent = True
        self._held -= request.held
        self.last_active = self._loop.time()
        self._room.set()
        self._start_ready()

    # -- writing -----------------------------------------------------------------------------------
    async def _send_in_order(self) -> None:
        while True:
            while not self._closing and (not self._pending or self._pending[0].answer is None):
                if self._reading_done and not self._pending:
                    return
                self._ready.clear()
                await self._ready.wait()
            if self._closing:
                return
            request = self._pending[0]
            answer = request.answer
            assert answer is not None
            if not answer.done():  # usually done already: the handler ran before this task woke
                await asyncio.wait([answer])  # not cancelled with this task: only _abandon decides that
            if self._closing:
                return
            if request.sent:  # written at once by its handler's step (_write_at_once)
                continue
            try:
                data = answer.result()
            except CloseConnection as exc:
                log.info("closing %r: %s", self, exc)
                self._pending.popleft()
                self._abandon(graceful=True)  # earlier responses already written still go out
                return
            except Exception:
                log.exception("request from %r failed in its handler", self)
                self._pending.popleft()
                self._abandon()
                return
            self._writing = request
            try:
                await self._write(data)
            except (ConnectionError, OSError):
                self._abandon()
                return
            except Exception:
                if self._closing:  # the socket was closed under the write (idle, or the client left)
                    return
                raise
            finally:
                self._writing = None
            if self._closing:
                return
            self._sent(request)

    async def _write(self, data: Response) -> None:
        if data is None:
            if len(self._pending) == 1:
                await self.writer.drain()
            return
        if isinstance(data, Outgoing):
            await send(self.writer, data)
        else:
            self.writer.write(data)
        if self.writer.transport.get_write_buffer_size() > _FLUSH_AT:
            await self.writer.drain()

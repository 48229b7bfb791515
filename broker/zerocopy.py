"""Responses whose record bytes go from segment files to the socket with ``sendfile``.

The protocol package stays sans-I/O, so it never sees a file. A handler that answers with stored
batches (Fetch) gives each large records field a *placeholder*: ``RecordsSplicer.records(info)``
returns a 20-byte token (16 random bytes, fixed per process, and an index) and keeps the file region aside.
The response is encoded by the ordinary codec; ``FileBackedResponse.encode`` then finds the tokens in
the encoded bytes (in order, each right after its length prefix), rewrites each length prefix for the
real size and cuts the frame into an ``Outgoing``: bytes, then a ``FileChunk``, then bytes, ... with
the frame size computed over the real sizes. The connection writes the bytes and ``sendfile``s the
chunks: once the bytes queued ahead are written, one ``os.sendfile`` at once on a plain TCP socket (on
loopback it usually takes the whole chunk), then ``loop.sendfile`` for any rest (which falls back to
read-and-write for transports that cannot). Over TLS, which cannot ``sendfile``, a chunk is read in 256 KiB
pieces written whole into the TLS transport. A send may be cancelled at any point (the client left).

Small regions (under ``SENDFILE_MIN_BYTES``) and regions beyond ``MAX_DEFERRED`` per response are
read at once (``pread``) instead: a ``sendfile`` has a fixed cost (waiting for the transport's buffer
to empty), and every deferred region holds a file descriptor until it is sent. So is a region when
the process is out of descriptors (EMFILE): the answer costs memory instead of failing.

Why sending later is safe (invariants):
- Each deferred region gets its *own* descriptor, opened by path in the same synchronous step as the
  log read (all log changes happen on the event loop, so the path is the segment's current file). A
  segment deleted by retention (renamed ``.deleted``, closed, unlinked) stays readable through it; a
  descriptor of its own also means no shared file position with the segment's writer (asyncio's
  sendfile moves the position of the file it is given).
- The frame's size is fixed before anything is sent. If the file was truncated meanwhile (follower
  truncation) and yields fewer bytes than promised, the rest of that records field is filled with a
  *partial batch*: a batch header whose length runs past the end of the field (or fewer than 12 bytes
  of zeros). Clients drop a partial batch at the end of a partition's records (it is what a size limit
  cut produces), so the response stays well formed and the consumer re-fetches from where it stopped.
  Kafka closes the connection in that case instead; a padded answer costs the client less.
"""

from __future__ import annotations

import asyncio
import errno
import io
import os
import struct
from dataclasses import dataclass
from typing import TypeVar

from protocol import codec
from protocol.api import Api
from protocol.headers import ResponseHeader
from protocol.schema import Struct
from protocol.varint import encode_uvarint
from storage.log.results import FetchDataInfo

SENDFILE_MIN_BYTES = 32 * 1024
MAX_DEFERRED = 32
TLS_READ_BYTES = 256 << 10  # measured (bench.broker.security): 1 MiB pieces cost twice the CPU
TLS_BUFFER_BYTES = 4 << 20
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE})
_TOKEN = os.urandom(16)  # per process, so no client can put it in a response; with the index: 20 bytes
_INDEX = struct.Struct(">I")
_PLACEHOLDER_SIZE = len(_TOKEN) + _INDEX.size
_I32 = struct.Struct(">i")
S = TypeVar("S", bound=Struct)
_PARTIAL_HEAD = struct.Struct(">qi")  # base offset, batch length: the start of a record batch
_MIN_BATCH_LENGTH = 49  # a v2 batch header after the length field: any length below is corrupt, not partial


@dataclass(slots=True, eq=False)
class FileChunk:
    """``length`` bytes at ``position`` of ``file``, a descriptor of our own (see the module notes)."""

    file: io.FileIO
    position: int
    length: int

    def read(self) -> bytes:
        """The bytes, padded to ``length`` if the file was cut short meanwhile."""
        data = os.pread(self.file.fileno(), self.length, self.position)
        return data + partial_batch_filler(self.length - len(data))

    def close(self) -> None:
        self.file.close()


Part = bytes | bytearray | memoryview | FileChunk


@dataclass(slots=True, eq=False)
class Outgoing:
    """A response frame (size prefix included) as bytes and file chunks, in order; ``size`` is the
    frame's total length. Whoever holds it must ``close`` it (sent or not) to release descriptors."""

    parts: list[Part]
    size: int

    def close(self) -> None:
        for part in self.parts:
            if isinstance(part, FileChunk):
                part.close()

    def to_bytes(self) -> bytes:
        """The whole frame in memory: for transports without ``sendfile`` support and for tests."""
        return b"".join(p.read() if isinstance(p, FileChunk) else bytes(p) for p in self.parts)


def partial_batch_filler(size: int) -> bytes:
    """``size`` bytes that clients read as an incomplete record batch at the end of a records field."""
    if size <= 0:
        return b""
    if size < _PARTIAL_HEAD.size:
        return bytes(size)
    return _PARTIAL_HEAD.pack(-1, max(size, _MIN_BATCH_LENGTH)) + bytes(size - _PARTIAL_HEAD.size)


class FileBackedResponse(Struct):
    """A handler's answer whose records fields hold placeholders for ``chunks``.

    It is a ``Struct`` only so that it travels the dispatcher's handler signature; the connection
    recognises it and calls ``encode`` instead of encoding it as a message."""

    __slots__ = ("body", "chunks")

    def __init__(self, body: Struct, chunks: list[FileChunk]) -> None:
        self.body = body
        self.chunks = chunks

    def close(self) -> None:
        for chunk in self.chunks:
            chunk.close()

    def encode(self, api: Api, version: int, correlation_id: int) -> Outgoing:
        """The frame as an ``Outgoing``. Takes over the chunks' descriptors (closed on failure)."""
        try:
            return self._encode(api, version, correlation_id)
        except BaseException:
            self.close()
            raise

    def _encode(self, api: Api, version: int, correlation_id: int) -> Outgoing:
        out = bytearray(4)
        codec.encode_into(out, ResponseHeader(correlation_id=correlation_id), api.response_header_version(version))
        codec.encode_into(out, self.body, version)
        flexible = api.is_flexible(version)
        prefix_size = 1 if flexible else 4  # a 20-byte placeholder's length prefix
        view = memoryview(out)
        parts: list[Part] = []
        size = len(out) - 4
        start = 0
        for index, chunk in enumerate(self.chunks):
            at = out.find(_TOKEN, start)
            if at < 0 or _INDEX.unpack_from(out, at + len(_TOKEN))[0] != index:
                raise AssertionError(f"records placeholder {index} not found in the encoded response")
            prefix = encode_uvarint(chunk.length + 1) if flexible else _I32.pack(chunk.length)
            parts.append(view[start : at - prefix_size])
            parts.append(prefix)
            parts.append(chunk)
            size += len(prefix) - prefix_size + chunk.length - _PLACEHOLDER_SIZE
            start = at + _PLACEHOLDER_SIZE
        parts.append(view[start:])
        first = parts[0]
        assert isinstance(first, memoryview)
        parts[0] = _I32.pack(size) + first[4:]
        return Outgoing(parts, size + 4)


async def send(writer: asyncio.StreamWriter, data: Outgoing) -> None:
    """Write ``data`` to ``writer``: bytes as they are, file chunks with ``loop.sendfile`` (asyncio
    itself falls back to reading and writing for transports that cannot, e.g. TLS); a transport
    that supports neither gets the chunk read into memory. Always closes ``data``."""
    try:
        for part in data.parts:
            if isinstance(part, FileChunk):
                await _send_chunk(writer, part)
            else:
                writer.write(part)
    finally:
        data.close()


async def _send_chunk(writer: asyncio.StreamWriter, chunk: FileChunk) -> None:
    """Exactly ``chunk.length`` bytes: the file's, then filler if it was cut short meanwhile."""
    transport = writer.transport
    if transport.get_extra_info("sslcontext") is not None:
        await _send_chunk_tls(writer, chunk)
        return
    await _flushed(writer)
    if transport.is_closing():
        raise ConnectionResetError("the connection closed while a response was being sent")
    position, left = chunk.position, chunk.length
    sent = _sendfile_now(transport, chunk)
    if sent is not None:
        if sent == 0:  # the file ends where the region starts: cut short meanwhile
            writer.write(partial_batch_filler(left))
            return
        position, left = position + sent, left - sent
        if left == 0:
            return
    try:
        sent = await asyncio.get_running_loop().sendfile(transport, chunk.file, position, left)
    except RuntimeError:
        if transport.is_closing():
            raise ConnectionResetError("the connection closed while a response was being sent") from None
        writer.write(FileChunk(chunk.file, position, left).read())
        return
    if sent < left:
        writer.write(partial_batch_filler(left - sent))


async def _send_chunk_tls(writer: asyncio.StreamWriter, chunk: FileChunk) -> None:
    """TLS cannot ``sendfile``: the chunk is read in ``TLS_READ_BYTES`` pieces handed whole to the TLS
    transport (which encrypts them in full records), waiting only when it holds ``TLS_BUFFER_BYTES``."""
    position, left = chunk.position, chunk.length
    while left > 0:
        data = os.pread(chunk.file.fileno(), min(left, TLS_READ_BYTES), position)
        if not data:  # cut short meanwhile
            writer.write(partial_batch_filler(left))
            return
        if writer.transport.is_closing():
            raise ConnectionResetError("the connection closed while a response was being sent")
        writer.write(data)
        position, left = position + len(data), left - len(data)
        if writer.transport.get_write_buffer_size() >= TLS_BUFFER_BYTES:
            await writer.drain()


async def _flushed(writer: asyncio.StreamWriter) -> None:
    """Until the transport has written all it holds. ``loop.sendfile`` waits for that too, but must not
    be cancelled while it does (CPython 3.11/3.12: the transport keeps a cancelled waiter, refuses
    writes and fails when it closes); cancelled here, nothing is left behind."""
    transport = writer.transport
    if not transport.get_write_buffer_size():
        return
    low, high = transport.get_write_buffer_limits()
    transport.set_write_buffer_limits(high=0, low=0)  # drain() now waits for an empty buffer
    try:
        await writer.drain()
    finally:
        if not transport.is_closing():
            transport.set_write_buffer_limits(high=high, low=low)


def _sendfile_now(transport: asyncio.WriteTransport, chunk: FileChunk) -> int | None:
    """One ``os.sendfile`` of the chunk straight into a plain TCP socket with nothing queued before it:
    as much as the socket takes now (usually all of it on loopback) without the event-loop round
    trips of ``loop.sendfile``, which then sends the rest. Returns the bytes sent (0: the file ended
    at the region's start), or None where it does not apply (queued bytes, TLS, no socket, a file
    system without sendfile): the caller sends it all the usual way."""
    if transport.get_write_buffer_size() or transport.get_extra_info("sslcontext") is not None:
        return None
    sock = transport.get_extra_info("socket")
    if sock is None:
        return None
    try:
        return os.sendfile(sock.fileno(), chunk.file.fileno(), chunk.position, chunk.length)
    except (BlockingIOError, InterruptedError):
        return None
    except ConnectionError:
        raise
    except OSError:
        return None


class RecordsSplicer:
    """Builds one response's records fields: bytes read at once, or placeholders for ``sendfile``.

    Use on the event loop, in the same synchronous step as the log reads (see the module notes)."""

    def __init__(self, sendfile_min_bytes: int = SENDFILE_MIN_BYTES, max_deferred: int = MAX_DEFERRED) -> None:
        self.sendfile_min_bytes = sendfile_min_bytes
        self.max_deferred = max_deferred
        self.chunks: list[FileChunk] = []

    def records(self, info: FetchDataInfo) -> bytes:
        """The value for a records field: the region's bytes, or a placeholder. Raises OSError."""
        regions = info.regions
        if not regions:
            return b""
        if len(regions) != 1 or regions[0].length < self.sendfile_min_bytes or len(self.chunks) >= self.max_deferred:
            return info.read_bytes()
        region = regions[0]
        try:
            file = io.FileIO(region.path, "rb")
        except OSError as exc:
            if exc.errno not in _OUT_OF_DESCRIPTORS:
                raise
            return info.read_bytes()  # no descriptor to spare: read now, through the segment's own
        chunk = FileChunk(file, region.position, region.length)
        placeholder = _TOKEN + _INDEX.pack(len(self.chunks))
        self.chunks.append(chunk)
        return placeholder

    def response(self, body: S) -> S | FileBackedResponse:
        """``body`` itself when nothing was deferred, else a ``FileBackedResponse`` around it."""
        if not self.chunks:
            return body
        return FileBackedResponse(body, self.chunks)

    def close(self) -> None:
        for chunk in self.chunks:
            chunk.close()
        self.chunks = []

"""Kafka's record compression codecs: gzip, snappy, lz4 and zstd, both ways.

What each codec writes, as the Java client does so every client can read it:

- gzip: a gzip member (RFC 1952). Reading accepts concatenated members.
- snappy: the xerial "snappy-java" framing (``\\x82SNAPPY\\x00``, version 1, compatible version 1,
  then blocks of int32 length + raw snappy). Reading accepts that framing and plain raw snappy
  (librdkafka and others may send either), detected by the magic.
- lz4: a standard LZ4 frame with independent blocks (Kafka's reader decodes each block on its own).
  On the legacy magic-0 path a wrong header checksum is tolerated (KAFKA-3160).
- zstd: a zstd frame. Reading copes with frames that do not declare their content size (streaming
  writers) and with concatenated frames.

Decompression never produces more than ``max_size`` bytes: corrupt input or a decompression bomb
raises ``CompressionError`` instead of exhausting memory. All codec failures raise that one error.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import cramjam

from protocol.records import _lz4frame
from protocol.records.exceptions import CompressionError
from protocol.records.header import Compression

__all__ = [
    "DEFAULT_MAX_DECOMPRESSED_SIZE",
    "XERIAL_MAGIC",
    "Buffer",
    "CompressionError",
    "compress",
    "decompress",
]

Buffer = bytes | bytearray | memoryview

DEFAULT_MAX_DECOMPRESSED_SIZE = 256 * 1024 * 1024
"""Default cap on a decompressed records section (far above any sane batch, far below a bomb)."""

XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK = 32 * 1024  # snappy-java's default block size
_INT32 = struct.Struct(">i")
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_FIRST_GUESS = 64 * 1024


def compress(codec: Compression, data: Buffer, *, level: int | None = None) -> bytes:
    """Compress ``data`` with ``codec`` as Kafka's Java client would (NONE returns it unchanged)."""
    if codec == Compression.NONE:
        return bytes(data)
    if codec == Compression.GZIP:
        deflater = zlib.compressobj(6 if level is None else level, zlib.DEFLATED, _GZIP_WBITS)
        return deflater.compress(data) + deflater.flush()
    if codec == Compression.SNAPPY:
        return _xerial_compress(data)
    if codec == Compression.LZ4:
        lz4 = cramjam.lz4.Compressor(level=level, content_checksum=False, block_linked=False)
        lz4.compress(data if isinstance(data, bytes) else bytes(data))  # cramjam's frame writer takes bytes only
        return bytes(lz4.finish())
    if codec == Compression.ZSTD:
        return bytes(cramjam.zstd.compress(data, level=3 if level is None else level))
    raise CompressionError(f"unknown compression codec {int(codec)}")


def decompress(
    codec: Compression | int,
    data: Buffer,
    *,
    max_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
    lz4_legacy_header_checksum: bool = False,
) -> Buffer:
    """Decompress ``data``; at most ``max_size`` bytes come out, else ``CompressionError``.

    The result is a bytes-like object (call ``bytes()`` on it if you need ``bytes``).
    ``lz4_legacy_header_checksum`` tolerates the wrong LZ4 header checksum of magic-0 messages.
    """
    try:
        codec = Compression(codec)
    except ValueError:
        raise CompressionError(f"unknown compression codec {codec}") from None
    if codec == Compression.NONE:
        if len(data) > max_size:
            raise _too_large(codec, max_size)
        return data
    if codec == Compression.GZIP:
        return _gzip_decompress(data, max_size)
    if codec == Compression.SNAPPY:
        if len(data) >= len(_XERIAL_HEADER) and bytes(data[:8]) == XERIAL_MAGIC:
            return _xerial_decompress(data, max_size)
        return _snappy_raw(data, max_size, 0)
    if codec == Compression.LZ4:
        if lz4_legacy_header_checksum:
            data = _lz4frame.repair_header_checksum(data)
        return _bounded(codec, cramjam.lz4.decompress_into, data, max_size, _lz4frame.content_size(data))
    return _bounded(codec, cramjam.zstd.decompress_into, data, max_size, _zstd_content_size(data))


def _too_large(codec: Compression, max_size: int) -> CompressionError:
    return CompressionError(f"{codec.name.lower()} data decompresses to more than {max_size} bytes")


def _gzip_decompress(data: Buffer, max_size: int) -> bytes:
    out: list[bytes] = []
    total = 0
    rest: Buffer = data
    try:
        while True:
            inflater = zlib.decompressobj(_GZIP_WBITS)
            chunk = inflater.decompress(rest, max_size - total + 1)
            total += len(chunk)
            out.append(chunk)
            if total > max_size or inflater.unconsumed_tail:
                raise _too_large(Compression.GZIP, max_size)
            if not inflater.eof:
                raise CompressionError("gzip data is truncated")
            rest = inflater.unused_data
            if not rest:
                return b"".join(out)
    except zlib.error as e:
        raise CompressionError(f"gzip data is corrupt: {e}") from None


def _snappy_raw(block: Buffer, max_size: int, produced: int) -> Buffer:
    try:
        size = cramjam.snappy.decompress_raw_len(block)
    except cramjam.DecompressionError as e:
        raise CompressionError(f"snappy data is corrupt: {e}") from None
    if produced + size > max_size:
        raise _too_large(Compression.SNAPPY, max_size)
    try:
        return memoryview(cramjam.snappy.decompress_raw(block, output_len=size))
    except cramjam.DecompressionError as e:
        raise CompressionError(f"snappy data is corrupt: {e}") from None


def _xerial_compress(data: Buffer) -> bytes:
    view = memoryview(data)
    parts = [_XERIAL_HEADER]
    for start in range(0, len(view), _XERIAL_BLOCK):
        block = bytes(cramjam.snappy.compress_raw(view[start : start + _XERIAL_BLOCK]))
        parts.append(_INT32.pack(len(block)))
        parts.append(block)
    return b"".join(parts)


def _xerial_decompress(data: Buffer, max_size: int) -> bytes:
    """snappy-java's stream: the 16-byte header, then int32-length-prefixed raw snappy blocks."""
    view = memoryview(data)
    pos = len(_XERIAL_HEADER)
    out: list[Buffer] = []
    total = 0
    while pos < len(view):
        if len(view) - pos < 4:
            raise CompressionError("xerial snappy block length is cut short")
        (length,) = _INT32.unpack_from(view, pos)
        pos += 4
        if length < 0 or length > len(view) - pos:
            raise CompressionError(f"xerial snappy block of {length} bytes overruns the data")
        block = _snappy_raw(view[pos : pos + length], max_size, total)
        total += len(block)
        out.append(block)
        pos += length
    return b"".join(out)


def _zstd_content_size(data: Buffer) -> int | None:
    """Frame_Content_Size of the first zstd frame, when its header declares it."""
    if len(data) < 6 or bytes(data[:4]) != b"\x28\xb5\x2f\xfd":
        return None
    descriptor = data[4]
    fcs_flag = descriptor >> 6
    single_segment = descriptor & 0x20
    dict_id_size = (0, 1, 2, 4)[descriptor & 0x03]
    pos = 5 + (0 if single_segment else 1) + dict_id_size
    fcs_size = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
    if fcs_size == 0 or len(data) < pos + fcs_size:
        return None
    value = int.from_bytes(data[pos : pos + fcs_size], "little")
    return value + 256 if fcs_size == 2 else value


def _bounded(
    codec: Compression,
    decompress_into: Callable[[Buffer, bytearray], int],
    data: Buffer,
    max_size: int,
    declared: int | None,
) -> memoryview:
    """Decompress into a buffer that grows fourfold per try, never past ``max_size``.

    cramjam's ``decompress_into`` fails rather than write past the end of the buffer it is given,
    so a frame that lies about (or does not declare) its size cannot allocate more than the cap.
    """
    if declared is not None and declared > max_size:
        raise _too_large(codec, max_size)
    capacity = min(max_size, max(declared or 0, 4 * len(data), _FIRST_GUESS))
    while True:
        out = bytearray(capacity + 1)  # one spare byte: a full buffer means "maybe more"
        try:
            written = int(decompress_into(data, out))
        except cramjam.DecompressionError as e:
            if "whole buffer" not in str(e):
                raise CompressionError(f"{codec.name.lower()} data is corrupt: {e}") from None
            written = len(out)
        if written <= capacity:
            return memoryview(out)[:written]
        if capacity >= max_size:
            raise _too_large(codec, max_size)
        capacity = min(max_size, capacity * 4)

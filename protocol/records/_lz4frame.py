"""Just enough of the LZ4 frame format to size and repair a frame before cramjam decodes it.

Frame header: magic ``04 22 4D 18``, FLG, BD, [content size u64 LE], [dictionary id u32 LE], HC, where
HC is the second byte of XXH32 (seed 0) of the descriptor (FLG up to, not including, HC).

Kafka 0.8 and 0.9 computed HC over the magic as well (KAFKA-3160), and magic-0 messages from that era
still carry the wrong byte. Kafka's reader ignores HC for magic 0; ``repair_header_checksum`` lets
cramjam, which always checks it, do the same.
"""

from __future__ import annotations

import struct

MAGIC = b"\x04\x22\x4d\x18"
_FLG_CONTENT_SIZE = 0x08
_FLG_DICT_ID = 0x01

_P1 = 2654435761
_P2 = 2246822519
_P3 = 3266489917
_P4 = 668265263
_P5 = 374761393
_M = 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M


def xxh32(data: bytes, seed: int = 0) -> int:
    """XXH32 in plain Python: meant for the few bytes of a frame descriptor, not for bulk data."""
    n = len(data)
    pos = 0
    if n >= 16:
        v1 = (seed + _P1 + _P2) & _M
        v2 = (seed + _P2) & _M
        v3 = seed & _M
        v4 = (seed - _P1) & _M
        while pos + 16 <= n:
            a, b, c, d = struct.unpack_from("<4I", data, pos)
            v1 = (_rotl((v1 + a * _P2) & _M, 13) * _P1) & _M
            v2 = (_rotl((v2 + b * _P2) & _M, 13) * _P1) & _M
            v3 = (_rotl((v3 + c * _P2) & _M, 13) * _P1) & _M
            v4 = (_rotl((v4 + d * _P2) & _M, 13) * _P1) & _M
            pos += 16
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M
    else:
        h = (seed + _P5) & _M
    h = (h + n) & _M
    while pos + 4 <= n:
        (lane,) = struct.unpack_from("<I", data, pos)
        h = (_rotl((h + lane * _P3) & _M, 17) * _P4) & _M
        pos += 4
    while pos < n:
        h = (_rotl((h + data[pos] * _P5) & _M, 11) * _P1) & _M
        pos += 1
    h ^= h >> 15
    h = (h * _P2) & _M
    h ^= h >> 13
    h = (h * _P3) & _M
    h ^= h >> 16
    return h


def _descriptor_end(data: bytes | bytearray | memoryview) -> int | None:
    """Position of the HC byte, or None if this is not a complete LZ4 frame header."""
    if len(data) < 7 or bytes(data[:4]) != MAGIC:
        return None
    flg = data[4]
    end = 6
    if flg & _FLG_CONTENT_SIZE:
        end += 8
    if flg & _FLG_DICT_ID:
        end += 4
    return end if len(data) > end else None


def content_size(data: bytes | bytearray | memoryview) -> int | None:
    """The uncompressed size the frame header declares, if it declares one."""
    end = _descriptor_end(data)
    if end is None or not data[4] & _FLG_CONTENT_SIZE:
        return None
    (size,) = struct.unpack_from("<Q", data, 6)
    return int(size)


def header_checksum(data: bytes | bytearray | memoryview) -> int | None:
    """The correct HC byte for this frame's descriptor (None if the header is incomplete)."""
    end = _descriptor_end(data)
    if end is None:
        return None
    return (xxh32(bytes(data[4:end])) >> 8) & 0xFF


def repair_header_checksum(data: bytes | bytearray | memoryview) -> bytes | bytearray | memoryview:
    """The frame with its HC byte recomputed (a copy only when the byte was wrong)."""
    end = _descriptor_end(data)
    expected = header_checksum(data)
    if end is None or expected is None or data[end] == expected:
        return data
    fixed = bytearray(data)
    fixed[end] = expected
    return fixed

"""Variable-length integers as Kafka writes them: unsigned LEB128, and zig-zag signed varint/varlong.

Readers take a buffer and a position and return ``(value, new_position)``. They raise ``ValueError``
on a truncated or over-long encoding; callers turn that into their own error with context.
"""

from __future__ import annotations

Buffer = bytes | bytearray | memoryview


def read_uvarint(buf: Buffer, pos: int, max_bytes: int = 5) -> tuple[int, int]:
    """An unsigned varint of at most ``max_bytes`` bytes (5 for 32-bit values, 10 for 64-bit)."""
    result = 0
    shift = 0
    end = len(buf)
    for _ in range(max_bytes):
        if pos >= end:
            raise ValueError("varint is cut short")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
    raise ValueError(f"varint is longer than {max_bytes} bytes")


def read_varint(buf: Buffer, pos: int) -> tuple[int, int]:
    """A zig-zag signed 32-bit varint."""
    raw, pos = read_uvarint(buf, pos, 5)
    if raw > 0xFFFFFFFF:
        raise ValueError("varint does not fit in 32 bits")
    return (raw >> 1) ^ -(raw & 1), pos


def read_varlong(buf: Buffer, pos: int) -> tuple[int, int]:
    """A zig-zag signed 64-bit varint."""
    raw, pos = read_uvarint(buf, pos, 10)
    if raw > 0xFFFFFFFFFFFFFFFF:
        raise ValueError("varlong does not fit in 64 bits")
    return (raw >> 1) ^ -(raw & 1), pos


def encode_uvarint(value: int) -> bytes:
    if value < 0:
        raise ValueError(f"unsigned varint cannot hold {value}")
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_varint(value: int) -> bytes:
    """Zig-zag signed 32-bit varint."""
    return encode_uvarint(((value << 1) ^ (value >> 31)) & 0xFFFFFFFF)


def encode_varlong(value: int) -> bytes:
    """Zig-zag signed 64-bit varint."""
    return encode_uvarint(((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF)


def uvarint_size(value: int) -> int:
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size

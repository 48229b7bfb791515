"""The legacy message formats, magic 0 and 1, read and converted to a v2 batch.

Log entry layout (big-endian)::

    0  offset      int64
    8  size        int32   bytes after this field
   12  crc         uint32  CRC-32 (zlib's) of the bytes from magic to the end of the message
   16  magic       int8    0 or 1
   17  attributes  int8    bits 0-2 compression (0-3), bit 3 timestamp type (magic 1 only)
   18  timestamp   int64   magic 1 only
       key         int32 length (-1 = null) + bytes
       value       int32 length (-1 = null) + bytes

A compressed message is a wrapper: its value is a compressed message set of uncompressed messages
of the same magic. For magic 1 the inner offsets are relative (0..n-1) and the wrapper carries the
offset of the last inner message; some producers write 0 there, in which case the inner offsets are
kept as they are (as Kafka and kafka-python read them). A LogAppendTime wrapper's timestamp applies
to every inner message. Magic-0 LZ4 data may carry the wrong frame header checksum (KAFKA-3160).
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from protocol.records.batch import build_batch
from protocol.records.compression import DEFAULT_MAX_DECOMPRESSED_SIZE, decompress
from protocol.records.exceptions import CorruptRecordBatch
from protocol.records.header import (
    COMPRESSION_MASK,
    LOG_OVERHEAD,
    NO_TIMESTAMP,
    TIMESTAMP_TYPE_MASK,
    Compression,
    InvalidRecordBatch,
    TimestampType,
)
from protocol.records.record import Record
from protocol.records.record_set import iter_entries

__all__ = ["LegacyMessage", "convert_legacy_to_v2", "iter_legacy_messages", "read_legacy_message"]

Buffer = bytes | bytearray | memoryview

_V0 = struct.Struct(">qiIbb")
_V1 = struct.Struct(">qiIbbq")
_INT32 = struct.Struct(">i")


@dataclass(slots=True, frozen=True)
class LegacyMessage:
    """One magic-0/1 message; ``timestamp`` is -1 for magic 0."""

    offset: int
    magic: int
    attributes: int
    timestamp: int
    key: bytes | None
    value: bytes | None

    @property
    def compression(self) -> Compression:
        return Compression(self.attributes & COMPRESSION_MASK)

    @property
    def timestamp_type(self) -> TimestampType:
        if self.magic > 0 and self.attributes & TIMESTAMP_TYPE_MASK:
            return TimestampType.LOG_APPEND_TIME
        return TimestampType.CREATE_TIME


def _read_bytes(entry: memoryview, pos: int, what: str) -> tuple[bytes | None, int]:
    if len(entry) - pos < 4:
        raise InvalidRecordBatch(f"legacy message {what} length is cut short")
    (length,) = _INT32.unpack_from(entry, pos)
    pos += 4
    if length == -1:
        return None, pos
    if length < 0 or length > len(entry) - pos:
        raise InvalidRecordBatch(f"legacy message {what} length {length} overruns the message")
    return bytes(entry[pos : pos + length]), pos + length


def read_legacy_message(entry: Buffer) -> LegacyMessage:
    """Decode one complete log entry of magic 0 or 1 and verify its CRC-32 (no decompression)."""
    view = memoryview(entry)
    if len(view) < LOG_OVERHEAD + 14:
        raise CorruptRecordBatch(f"legacy message of {len(view)} bytes is too short")
    magic = view[16]
    if magic == 0:
        offset, size, crc, _, attributes = _V0.unpack_from(view)
        timestamp, pos = NO_TIMESTAMP, _V0.size
    elif magic == 1:
        if len(view) < _V1.size + 8:
            raise CorruptRecordBatch(f"legacy v1 message of {len(view)} bytes is too short")
        offset, size, crc, _, attributes, timestamp = _V1.unpack_from(view)
        pos = _V1.size
    else:
        raise InvalidRecordBatch(f"legacy message magic is {magic}, expected 0 or 1")
    if size + LOG_OVERHEAD != len(view):
        raise CorruptRecordBatch(f"legacy message size {size} does not match its {len(view)} bytes")
    computed = zlib.crc32(view[16:])
    if computed != crc:
        raise CorruptRecordBatch(f"legacy message is corrupt (stored crc = {crc}, computed crc = {computed})")
    if attributes & COMPRESSION_MASK > Compression.LZ4:
        raise InvalidRecordBatch(f"legacy message has invalid compression codec {attributes & 7}")
    key, pos = _read_bytes(view, pos, "key")
    value, pos = _read_bytes(view, pos, "value")
    if pos != len(view):
        raise CorruptRecordBatch(f"legacy message has {len(view) - pos} bytes after its value")
    return LegacyMessage(offset, magic, attributes, timestamp, key, value)


def _inner_messages(wrapper: LegacyMessage, max_decompressed_size: int) -> Iterator[LegacyMessage]:
    if wrapper.value is None:
        raise InvalidRecordBatch("compressed legacy message has a null value")
    inner_set = decompress(
        wrapper.compression,
        wrapper.value,
        max_size=max_decompressed_size,
        lz4_legacy_header_checksum=wrapper.magic == 0,
    )
    inner: list[LegacyMessage] = []
    consumed = 0
    for _offset, _magic, entry in iter_entries(inner_set):
        message = read_legacy_message(entry)
        if message.magic != wrapper.magic:
            raise InvalidRecordBatch(f"inner message magic {message.magic} differs from its wrapper's {wrapper.magic}")
        if message.compression != Compression.NONE:
            raise InvalidRecordBatch("compressed legacy message holds another compressed message")
        inner.append(message)
        consumed += len(entry)
    if consumed != len(inner_set):
        raise CorruptRecordBatch("compressed legacy message set ends with a partial message")
    shift = 0
    if wrapper.magic == 1 and inner and wrapper.offset - inner[-1].offset >= 0:
        shift = wrapper.offset - inner[-1].offset
    append_time = wrapper.timestamp_type == TimestampType.LOG_APPEND_TIME
    for m in inner:
        yield LegacyMessage(
            offset=m.offset + shift,
            magic=m.magic,
            attributes=(m.attributes | TIMESTAMP_TYPE_MASK) if append_time else m.attributes,
            timestamp=wrapper.timestamp if append_time else m.timestamp,
            key=m.key,
            value=m.value,
        )


def iter_legacy_messages(
    buf: Buffer,
    *,
    max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
) -> Iterator[LegacyMessage]:
    """The uncompressed messages of a legacy message set, wrappers opened, offsets absolute.

    A partial trailing entry ends the walk (as in a fetch response); CRCs are always verified.
    """
    for _offset, _magic, entry in iter_entries(buf):
        message = read_legacy_message(entry)
        if message.compression == Compression.NONE:
            yield message
        else:
            yield from _inner_messages(message, max_decompressed_size)


def convert_legacy_to_v2(
    buf: Buffer,
    *,
    compression: Compression | None = None,
    base_offset: int | None = None,
    max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
) -> bytes:
    """One v2 batch with every message of the legacy message set ``buf``, as a broker stores it.

    ``compression`` defaults to the codec of the first compressed wrapper (NONE if there is none).
    Offsets keep their distances when they strictly increase, and are renumbered 0, 1, 2... from
    the base otherwise; ``base_offset`` defaults to the first message's offset. Magic-0
    messages get no timestamp (-1). The batch is LogAppendTime when every message is.
    """
    messages = list(iter_legacy_messages(buf, max_decompressed_size=max_decompressed_size))
    if not messages:
        raise InvalidRecordBatch("legacy message set holds no complete message")
    codec = Compression.NONE
    for _offset, _magic, entry in iter_entries(buf):
        if entry[17] & COMPRESSION_MASK:
            codec = Compression(entry[17] & COMPRESSION_MASK)
            break
    first = messages[0].offset if base_offset is None else base_offset
    for m in messages:
        if m.timestamp < NO_TIMESTAMP:
            raise InvalidRecordBatch(f"legacy message at offset {m.offset} has invalid timestamp {m.timestamp}")
    span = messages[-1].offset - messages[0].offset
    increasing = span < 2**31 and all(a.offset < b.offset for a, b in itertools.pairwise(messages))
    records = [
        Record(first + (m.offset - messages[0].offset if increasing else i), m.timestamp, m.key, m.value, [])
        for i, m in enumerate(messages)
    ]
    append_time = all(m.timestamp_type == TimestampType.LOG_APPEND_TIME for m in messages)
    return build_batch(
        records,
        base_offset=first,
        compression=codec if compression is None else compression,
        timestamp_type=TimestampType.LOG_APPEND_TIME if append_time else TimestampType.CREATE_TIME,
    )

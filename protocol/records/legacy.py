"""The legacy message formats, magic 0 and 1: read, written, and converted to a v2 batch.

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

Writing follows Kafka's ``MemoryRecordsBuilder``: a wrapper's inner offsets are relative to its first
record for magic 1 (absolute for magic 0) and the wrapper carries the absolute offset of its last
record; a magic-1 wrapper's timestamp is the largest inner timestamp; a LogAppendTime message set has
the timestamp-type bit on every message, wrapper and inner alike. Magic-0 LZ4 frames are written with
the header checksum Kafka 0.8/0.9 computed (over the frame magic too, KAFKA-3160), as Kafka still
writes them for magic 0: the clients of that era verify that byte, newer readers ignore or repair it.
zstd has no legacy form (``UnsupportedCompressionForMagic``).
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from protocol.records._lz4frame import xxh32
from protocol.records.batch import build_batch
from protocol.records.compression import DEFAULT_MAX_DECOMPRESSED_SIZE, compress, decompress
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

__all__ = [
    "LegacyMessage",
    "UnsupportedCompressionForMagic",
    "append_legacy_messages",
    "build_legacy_message",
    "build_legacy_messages",
    "convert_legacy_to_v2",
    "iter_legacy_messages",
    "read_legacy_message",
]

Buffer = bytes | bytearray | memoryview

_V0 = struct.Struct(">qiIbb")
_V1 = struct.Struct(">qiIbbq")
_INT32 = struct.Struct(">i")
_HEAD_V0 = struct.Struct(">bbi")  # magic, attributes, key length
_HEAD_V1 = struct.Struct(">bbqi")  # magic, attributes, timestamp, key length
_OFFSET = struct.Struct(">q")
_SIZE_CRC = struct.Struct(">iI")
_INT32_MAX = 2**31 - 1
_LZ4_FLG_CONTENT_SIZE = 0x08
_LZ4_FLG_DICT_ID = 0x01


class UnsupportedCompressionForMagic(ValueError):
    """The data is compressed with a codec the requested legacy magic cannot carry (zstd).

    Not a fault of the bytes: the client asked for an old format (Fetch v0-3) of data that old
    format cannot express. Kafka answers UNSUPPORTED_COMPRESSION_TYPE (76).
    """

    def __init__(self, compression: Compression, magic: int, offset: int | None = None) -> None:
        where = "" if offset is None else f" (batch at offset {offset})"
        super().__init__(f"{compression.name.lower()} data cannot be written as magic {magic} messages{where}")
        self.compression = compression
        self.magic = magic
        self.offset = offset


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


def _check_magic_and_codec(magic: int, compression: Compression) -> None:
    if magic not in (0, 1):
        raise ValueError(f"legacy messages have magic 0 or 1, not {magic}")
    if compression == Compression.ZSTD:
        raise UnsupportedCompressionForMagic(compression, magic)
    if not Compression.NONE <= compression <= Compression.LZ4:
        raise ValueError(f"unknown compression codec {int(compression)}")


def _append_message(
    out: bytearray,
    offset: int,
    magic: int,
    attributes: int,
    timestamp: int,
    key: Buffer | None,
    value: Buffer | None,
) -> None:
    """Append one log entry; the CRC-32 is chained over the parts, so nothing is joined first."""
    key_length = -1 if key is None else len(key)
    value_length = -1 if value is None else len(value)
    size = (22 if magic else 14) + max(key_length, 0) + max(value_length, 0)  # bytes after the size field
    if size > _INT32_MAX:
        raise ValueError(f"legacy message at offset {offset} would be {size} bytes, over the int32 size field")
    try:
        entry_head = _OFFSET.pack(offset)
        head = (
            _HEAD_V1.pack(magic, attributes, timestamp, key_length)
            if magic
            else _HEAD_V0.pack(0, attributes, key_length)
        )
    except struct.error:
        raise InvalidRecordBatch(f"record offset {offset} or timestamp {timestamp} does not fit in int64") from None
    value_length_field = _INT32.pack(value_length)
    crc = zlib.crc32(head)
    if key:
        crc = zlib.crc32(key, crc)
    crc = zlib.crc32(value_length_field, crc)
    if value:
        crc = zlib.crc32(value, crc)
    out += entry_head
    out += _SIZE_CRC.pack(size, crc)
    out += head
    if key:
        out += key
    out += value_length_field
    if value:
        out += value


def _kafka_3160_header_checksum(frame: bytes) -> bytearray:
    """The LZ4 frame with the header checksum Kafka 0.8/0.9 wrote: XXH32 over magic and descriptor."""
    fixed = bytearray(frame)
    if len(fixed) < 7:
        return fixed
    flg = fixed[4]
    end = 6 + (8 if flg & _LZ4_FLG_CONTENT_SIZE else 0) + (4 if flg & _LZ4_FLG_DICT_ID else 0)
    if len(fixed) > end:
        fixed[end] = (xxh32(bytes(fixed[:end])) >> 8) & 0xFF
    return fixed


def build_legacy_message(
    offset: int,
    magic: int,
    key: Buffer | None,
    value: Buffer | None,
    *,
    timestamp: int = NO_TIMESTAMP,
    timestamp_type: TimestampType = TimestampType.CREATE_TIME,
    compression: Compression = Compression.NONE,
) -> bytes:
    """One magic-0/1 log entry, CRC-32 included, exactly as given.

    ``timestamp`` and ``timestamp_type`` are written for magic 1 only. ``compression`` only sets the
    codec bits: with a codec other than NONE, ``value`` must already be the compressed inner message
    set (``build_legacy_messages`` writes whole wrappers).
    """
    _check_magic_and_codec(magic, compression)
    attributes = int(compression)
    if magic and timestamp_type == TimestampType.LOG_APPEND_TIME:
        attributes |= TIMESTAMP_TYPE_MASK
    out = bytearray()
    _append_message(out, offset, magic, attributes, timestamp, key, value)
    return bytes(out)


def append_legacy_messages(
    out: bytearray,
    records: Iterable[Record],
    magic: int,
    *,
    compression: Compression = Compression.NONE,
    timestamp_type: TimestampType = TimestampType.CREATE_TIME,
    compression_level: int | None = None,
) -> int:
    """Append ``records`` to ``out`` as magic-``magic`` messages; returns how many were written.

    Uncompressed: one message per record. Compressed: one wrapper holding them all (nothing when
    there are no records). Offsets and keys/values are the records'; timestamps too (magic 1 only:
    for LogAppendTime the records must carry the append time, as ``decode_batch`` hands them out).
    Headers are dropped: legacy messages have none. Raises ``UnsupportedCompressionForMagic`` for
    zstd and ``ValueError`` for a magic other than 0 or 1.
    """
    _check_magic_and_codec(magic, compression)
    type_bit = TIMESTAMP_TYPE_MASK if magic and timestamp_type == TimestampType.LOG_APPEND_TIME else 0
    if compression == Compression.NONE:
        count = 0
        for r in records:
            _append_message(out, r.offset, magic, type_bit, r.timestamp, r.key, r.value)
            count += 1
        return count
    inner = bytearray()
    count = 0
    first = last = 0
    max_timestamp = NO_TIMESTAMP
    for r in records:
        if count == 0:
            first = r.offset
        last = r.offset
        max_timestamp = max(max_timestamp, r.timestamp)
        _append_message(inner, r.offset - first if magic else r.offset, magic, type_bit, r.timestamp, r.key, r.value)
        count += 1
    if count:
        # bytes(): compress() hands LZ4 data to cramjam's frame compressor, which takes bytes only
        compressed = compress(compression, bytes(inner), level=compression_level)
        wrapped: Buffer = compressed
        if magic == 0 and compression == Compression.LZ4:
            wrapped = _kafka_3160_header_checksum(compressed)
        _append_message(out, last, magic, int(compression) | type_bit, max_timestamp, None, wrapped)
    return count


def build_legacy_messages(
    records: Iterable[Record],
    magic: int,
    *,
    compression: Compression = Compression.NONE,
    timestamp_type: TimestampType = TimestampType.CREATE_TIME,
    compression_level: int | None = None,
) -> bytes:
    """A legacy message set holding ``records``: the magic-0/1 counterpart of ``build_batch``.

    See ``append_legacy_messages`` for the layout.
    """
    out = bytearray()
    append_legacy_messages(
        out, records, magic, compression=compression, timestamp_type=timestamp_type, compression_level=compression_level
    )
    return bytes(out)

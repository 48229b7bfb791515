"""The 61-byte header of a v2 record batch (magic 2), read and patched without touching the records.

Layout (big-endian), byte offsets from the start of the batch::

    0  base_offset            int64
    8  batch_length           int32   bytes after this field (so the batch is batch_length + 12 bytes)
   12  partition_leader_epoch int32
   16  magic                  int8    2
   17  crc                    uint32  CRC-32C of bytes [21, end)
   21  attributes             int16   bits 0-2 compression, 3 timestamp type, 4 transactional,
                                      5 control, 6 delete horizon set
   23  last_offset_delta      int32
   27  base_timestamp         int64
   35  max_timestamp          int64
   43  producer_id            int64
   51  producer_epoch         int16
   53  base_sequence          int32
   57  records_count          int32
   61  records...

The CRC covers only the bytes from the attributes on, so the base offset and the partition leader epoch
can be rewritten in place while the CRC stays valid: that is how a log assigns offsets.
"""

from __future__ import annotations

import enum
import struct
from typing import NamedTuple

import crc32c

HEADER_SIZE = 61
LOG_OVERHEAD = 12  # base_offset + batch_length: the bytes before batch_length starts counting
MAGIC_OFFSET = 16
CRC_OFFSET = 17
ATTRIBUTES_OFFSET = 21
NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
NO_PARTITION_LEADER_EPOCH = -1
NO_TIMESTAMP = -1

_HEADER = struct.Struct(">qiibIhiqqqhii")
_BASE_OFFSET = struct.Struct(">q")
_EPOCH = struct.Struct(">i")
_OFFSET_AND_LENGTH = struct.Struct(">qi")

COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
TRANSACTIONAL_MASK = 0x10
CONTROL_MASK = 0x20
DELETE_HORIZON_MASK = 0x40


class Compression(enum.IntEnum):
    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


MAX_CODEC = max(Compression)


class TimestampType(enum.IntEnum):
    CREATE_TIME = 0
    LOG_APPEND_TIME = 1


class InvalidRecordBatch(ValueError):
    """The bytes are not a well-formed v2 record batch: the sender's fault, never the reader's."""


class BatchHeader(NamedTuple):
    """The 61-byte header of a v2 batch, field by field (a named tuple: read on every append and
    fetch, it is built several times faster than a frozen dataclass)."""

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def size(self) -> int:
        """The whole batch in bytes, header included."""
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1

    @property
    def compression(self) -> Compression:
        return Compression(self.attributes & COMPRESSION_MASK)

    @property
    def timestamp_type(self) -> TimestampType:
        return TimestampType(1 if self.attributes & TIMESTAMP_TYPE_MASK else 0)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_MASK)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_MASK)

    @property
    def has_producer_id(self) -> bool:
        return self.producer_id >= 0

    @property
    def last_sequence(self) -> int:
        """Sequence of the batch's last record (sequences wrap at 2**31 - 1, as in Kafka)."""
        if self.base_sequence == NO_SEQUENCE:
            return NO_SEQUENCE
        return (self.base_sequence + self.last_offset_delta) % 0x80000000


def read_header(buf: bytes | bytearray | memoryview, pos: int = 0) -> BatchHeader:
    """Parse the v2 header at ``pos``. Raises InvalidRecordBatch if it is short, not magic 2, or names a
    compression codec that does not exist (5-7): so ``BatchHeader.compression`` never fails."""
    if len(buf) - pos < HEADER_SIZE:
        raise InvalidRecordBatch(f"record batch header needs {HEADER_SIZE} bytes, {len(buf) - pos} left")
    fields = _HEADER.unpack_from(buf, pos)
    header = BatchHeader._make(fields)
    if header.magic != 2:
        raise InvalidRecordBatch(f"record batch magic is {header.magic}, expected 2")
    if header.batch_length < HEADER_SIZE - LOG_OVERHEAD:
        raise InvalidRecordBatch(f"record batch length {header.batch_length} is shorter than its header")
    if header.attributes & COMPRESSION_MASK > MAX_CODEC:
        raise InvalidRecordBatch(f"record batch has unknown compression codec {header.attributes & COMPRESSION_MASK}")
    return header


def peek_offset_and_length(buf: bytes | bytearray | memoryview, pos: int = 0) -> tuple[int, int]:
    """Base offset and whole size of the batch (any magic) at ``pos``: the log's framing, 12 bytes."""
    base_offset, length = _OFFSET_AND_LENGTH.unpack_from(buf, pos)
    return base_offset, length + LOG_OVERHEAD


def compute_crc(buf: bytes | bytearray | memoryview, pos: int = 0, size: int | None = None) -> int:
    """CRC-32C of the batch at ``pos`` over the bytes from its attributes to its end."""
    if size is None:
        size = peek_offset_and_length(buf, pos)[1]
    view = memoryview(buf)[pos + ATTRIBUTES_OFFSET : pos + size]
    return int(crc32c.crc32c(view))


def is_crc_valid(buf: bytes | bytearray | memoryview, pos: int = 0) -> bool:
    header = read_header(buf, pos)
    if len(buf) - pos < header.size:
        return False
    return compute_crc(buf, pos, header.size) == header.crc


def write_crc(buf: bytearray | memoryview, pos: int = 0) -> None:
    """Recompute and store the CRC of the batch at ``pos`` (after building or changing attributes)."""
    size = peek_offset_and_length(buf, pos)[1]
    struct.pack_into(">I", buf, pos + CRC_OFFSET, compute_crc(buf, pos, size))


def set_base_offset(buf: bytearray | memoryview, base_offset: int, pos: int = 0) -> None:
    """Rewrite the base offset in place; the CRC stays valid because it does not cover it."""
    _BASE_OFFSET.pack_into(buf, pos, base_offset)


def set_partition_leader_epoch(buf: bytearray | memoryview, epoch: int, pos: int = 0) -> None:
    """Rewrite the partition leader epoch in place; the CRC does not cover it either."""
    _EPOCH.pack_into(buf, pos + 12, epoch)


def set_max_timestamp(buf: bytearray | memoryview, timestamp: int, pos: int = 0) -> None:
    """Rewrite the batch's (CreateTime) max timestamp in place, and fix the CRC."""
    struct.pack_into(">q", buf, pos + 35, timestamp)
    write_crc(buf, pos)


def set_max_timestamp_log_append_time(buf: bytearray | memoryview, timestamp: int, pos: int = 0) -> None:
    """Mark the batch LogAppendTime with ``timestamp`` as its max timestamp, and fix the CRC.

    This is what a topic with message.timestamp.type=LogAppendTime does on append, as Kafka does:
    the record timestamps stay, the batch's timestamp type and max timestamp say which time counts.
    """
    (attributes,) = struct.unpack_from(">h", buf, pos + ATTRIBUTES_OFFSET)
    struct.pack_into(">h", buf, pos + ATTRIBUTES_OFFSET, attributes | TIMESTAMP_TYPE_MASK)
    struct.pack_into(">q", buf, pos + 35, timestamp)
    write_crc(buf, pos)

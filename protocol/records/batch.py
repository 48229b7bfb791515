"""Build a v2 record batch from records, and read the records back out of one.

The header layout is described in ``header.py``. A builder writes the records section, compresses
it when asked, writes the header and the CRC-32C; a reader checks the framing, decompresses, and
yields ``Record`` objects with absolute offsets and timestamps (the batch's max timestamp for every
record of a LogAppendTime batch, as Kafka's clients show it).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

from protocol.records.compression import DEFAULT_MAX_DECOMPRESSED_SIZE, compress, decompress
from protocol.records.exceptions import CorruptRecordBatch
from protocol.records.header import (
    COMPRESSION_MASK,
    CONTROL_MASK,
    DELETE_HORIZON_MASK,
    HEADER_SIZE,
    LOG_OVERHEAD,
    NO_PARTITION_LEADER_EPOCH,
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    NO_SEQUENCE,
    NO_TIMESTAMP,
    TIMESTAMP_TYPE_MASK,
    TRANSACTIONAL_MASK,
    BatchHeader,
    Compression,
    InvalidRecordBatch,
    TimestampType,
    compute_crc,
    read_header,
)
from protocol.records.record import Record, decode_records, encode_record

__all__ = ["build_batch", "decode_batch", "iter_records"]

Buffer = bytes | bytearray | memoryview

_HEADER = struct.Struct(">qiibIhiqqqhii")


def build_batch(
    records: Sequence[Record],
    *,
    base_offset: int | None = None,
    compression: Compression = Compression.NONE,
    compression_level: int | None = None,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = NO_PRODUCER_EPOCH,
    base_sequence: int = NO_SEQUENCE,
    is_transactional: bool = False,
    is_control: bool = False,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
    timestamp_type: TimestampType = TimestampType.CREATE_TIME,
    max_timestamp: int | None = None,
    last_offset_delta: int | None = None,
    delete_horizon: int | None = None,
) -> bytes:
    """One v2 batch holding ``records``, CRC included.

    Offset deltas are ``record.offset - base_offset``: records keep their offsets, gaps included
    (as after compaction). ``base_offset`` defaults to the first record's offset (0 if none).
    ``last_offset_delta`` defaults to the last record's delta; give it to keep a compacted batch's
    offset range, or to write an empty batch that still covers offsets (records may be empty).
    The base timestamp is the first record's timestamp (or ``delete_horizon`` when given, which also
    sets the delete-horizon attribute); ``max_timestamp`` defaults to the records' largest one and
    should be the append time for a LogAppendTime batch.
    """
    if base_offset is None:
        base_offset = records[0].offset if records else 0
    base_timestamp = records[0].timestamp if records else NO_TIMESTAMP
    if delete_horizon is not None:
        base_timestamp = delete_horizon
    body = b"".join(encode_record(r, r.offset - base_offset, r.timestamp - base_timestamp) for r in records)
    if last_offset_delta is None:
        last_offset_delta = records[-1].offset - base_offset if records else 0
    if max_timestamp is None:
        max_timestamp = max((r.timestamp for r in records), default=NO_TIMESTAMP)
    attributes = int(compression) & COMPRESSION_MASK
    if timestamp_type == TimestampType.LOG_APPEND_TIME:
        attributes |= TIMESTAMP_TYPE_MASK
    if is_transactional:
        attributes |= TRANSACTIONAL_MASK
    if is_control:
        attributes |= CONTROL_MASK
    if delete_horizon is not None:
        attributes |= DELETE_HORIZON_MASK
    if compression != Compression.NONE:
        body = compress(compression, body, level=compression_level)
    out = bytearray(HEADER_SIZE + len(body))
    _HEADER.pack_into(
        out,
        0,
        base_offset,
        len(out) - LOG_OVERHEAD,
        partition_leader_epoch,
        2,
        0,
        attributes,
        last_offset_delta,
        base_timestamp,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        len(records),
    )
    out[HEADER_SIZE:] = body
    struct.pack_into(">I", out, 17, compute_crc(out, 0, len(out)))
    return bytes(out)


def _checked_header(batch: Buffer, verify_crc: bool) -> BatchHeader:
    header = read_header(batch)
    if len(batch) < header.size:
        raise CorruptRecordBatch(f"record batch of {header.size} bytes is cut short at {len(batch)}")
    if verify_crc:
        computed = compute_crc(batch, 0, header.size)
        if computed != header.crc:
            raise CorruptRecordBatch(f"record batch is corrupt (stored crc = {header.crc}, computed crc = {computed})")
    if header.records_count < 0:
        raise InvalidRecordBatch(f"record batch declares {header.records_count} records")
    return header


def iter_records(
    batch: Buffer,
    *,
    verify_crc: bool = False,
    max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
) -> Iterator[Record]:
    """The records of the v2 batch at the start of ``batch``, decompressed as needed.

    Raises ``InvalidRecordBatch`` (or a subclass) for anything malformed, and only that.
    """
    return decode_batch(batch, verify_crc=verify_crc, max_decompressed_size=max_decompressed_size)[1]


def decode_batch(
    batch: Buffer,
    *,
    verify_crc: bool = False,
    max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
) -> tuple[BatchHeader, Iterator[Record]]:
    """The header of the batch at the start of ``batch`` and a lazy iterator over its records.

    The header, the framing and (when asked) the CRC are checked at once; the records as they are
    read. The records section is decompressed at once.
    """
    header = _checked_header(batch, verify_crc)
    view = memoryview(batch)[HEADER_SIZE : header.size]
    codec = header.attributes & COMPRESSION_MASK
    section: Buffer = view
    if codec != Compression.NONE:
        section = decompress(codec, view, max_size=max_decompressed_size)
    log_append_time = header.max_timestamp if header.attributes & TIMESTAMP_TYPE_MASK else None
    records = decode_records(section, header.records_count, header.base_offset, header.base_timestamp, log_append_time)
    return header, records

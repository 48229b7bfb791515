"""Validation of incoming record batches and offset assignment: the append hot path.

Checks, per batch: a whole v2 header (magic 2), a length within the buffer, max.message.bytes,
CRC-32C, a sane offset delta and record count. Failures are the sender's fault: ``CorruptRecord``,
``InvalidRecord`` or ``RecordTooLarge``. Offsets and the leader epoch are patched in place: the CRC does
not cover them.
"""

from __future__ import annotations

from protocol.records import CompressionError, CorruptRecordBatch, iter_records
from protocol.records.header import (
    HEADER_SIZE,
    BatchHeader,
    InvalidRecordBatch,
    compute_crc,
    read_header,
)
from storage.config import LogConfig
from storage.errors import CorruptRecord, InvalidRecord, InvalidTimestamp, RecordTooLarge


def validate_batches(
    buf: bytes | bytearray | memoryview, max_message_bytes: int, *, from_leader_append: bool
) -> list[tuple[int, BatchHeader]]:
    """(position, header) of every batch in ``buf``; raises if any batch is invalid (nothing is kept)."""
    out: list[tuple[int, BatchHeader]] = []
    pos = 0
    end = len(buf)
    while pos < end:
        if end - pos < HEADER_SIZE:
            raise CorruptRecord(f"{end - pos} trailing bytes at byte {pos} are not a record batch")
        try:
            header = read_header(buf, pos)
        except InvalidRecordBatch as e:
            raise CorruptRecord(f"record batch at byte {pos}: {e}") from None
        size = header.size
        if size > end - pos:
            raise CorruptRecord(f"record batch at byte {pos} claims {size} bytes, only {end - pos} left")
        if size > max_message_bytes:
            raise RecordTooLarge(f"record batch of {size} bytes exceeds max.message.bytes {max_message_bytes}")
        if compute_crc(buf, pos, size) != header.crc:
            raise CorruptRecord(f"record batch at byte {pos} fails its CRC-32C check")
        if header.last_offset_delta < 0:
            raise InvalidRecord(f"record batch at byte {pos} has last offset delta {header.last_offset_delta}")
        if from_leader_append and header.records_count != header.last_offset_delta + 1:
            raise InvalidRecord(
                f"record batch at byte {pos} has {header.records_count} records "
                f"but last offset delta {header.last_offset_delta}"
            )
        out.append((pos, header))
        pos += size
    return out


def check_timestamps(name: str, config: LogConfig, batches: list[tuple[int, BatchHeader]], now: int) -> None:
    """CreateTime timestamps must lie within message.timestamp.before/after.max.ms of ``now``."""
    before = config.timestamp_before_max_ms
    after = config.timestamp_after_max_ms
    for _, header in batches:
        base_ts, max_ts = header.base_timestamp, header.max_timestamp
        if (base_ts >= 0 and now - base_ts > before) or (max_ts >= 0 and max_ts - now > after):
            raise InvalidTimestamp(
                f"{name}: timestamps [{base_ts}, {max_ts}] are outside the allowed range around {now}"
            )


def check_keys_for_compaction(
    name: str, buf: bytes | bytearray | memoryview, batches: list[tuple[int, BatchHeader]]
) -> None:
    """A compacted topic accepts only records with a key (Kafka's LogValidator): the one place of the
    append path that decodes records (and decompresses them)."""
    view = memoryview(buf)
    for pos, header in batches:
        if header.is_control:
            continue
        try:
            for record in iter_records(view[pos : pos + header.size]):
                if record.key is None:
                    raise InvalidRecord(
                        f"compacted topic cannot accept a record without a key ({name}, record {record.offset})"
                    )
        except (CorruptRecordBatch, CompressionError) as e:
            raise CorruptRecord(f"record batch at byte {pos}: {e}") from None
        except InvalidRecordBatch as e:
            raise InvalidRecord(f"record batch at byte {pos}: {e}") from None

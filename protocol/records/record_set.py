"""Record sets (Kafka's MemoryRecords): batches laid end to end, as in produce and fetch payloads.

Every entry of a record set, whatever its magic, starts with ``offset int64`` and ``size int32``
(bytes after the size field), and keeps its magic byte at offset 16. Iterating hands out memoryviews
into the caller's buffer: no bytes are copied, and the CRC-32C runs over those views.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from protocol.records.exceptions import CorruptRecordBatch
from protocol.records.header import (
    HEADER_SIZE,
    LOG_OVERHEAD,
    MAGIC_OFFSET,
    BatchHeader,
    InvalidRecordBatch,
    compute_crc,
    read_header,
)

__all__ = ["iter_batches", "iter_entries", "record_set_magic", "validate_record_set"]

Buffer = bytes | bytearray | memoryview

_OFFSET_AND_SIZE = struct.Struct(">qi")
_MIN_LEGACY_ENTRY = 14  # crc + magic + attributes + key length + value length (v0)


def iter_entries(buf: Buffer) -> Iterator[tuple[int, int, memoryview]]:
    """``(offset, magic, view)`` of each complete entry of any magic; a partial tail ends the walk.

    A fetch response may end with a batch cut at the byte limit: that tail is not an error and is
    not yielded. A negative size, or one too small for any entry, is ``CorruptRecordBatch``.
    """
    view = memoryview(buf)
    pos = 0
    end = len(view)
    while end - pos >= LOG_OVERHEAD + 5:  # up to and including the magic byte
        offset, size = _OFFSET_AND_SIZE.unpack_from(view, pos)
        if size < _MIN_LEGACY_ENTRY:
            raise CorruptRecordBatch(f"record set entry at byte {pos} has invalid size {size}")
        total = LOG_OVERHEAD + size
        if end - pos < total:
            return
        yield offset, view[pos + MAGIC_OFFSET], view[pos : pos + total]
        pos += total


def iter_batches(buf: Buffer) -> Iterator[tuple[BatchHeader, memoryview]]:
    """Header and memoryview of each complete v2 batch; a partial trailing batch ends the walk.

    CRCs are not checked here (see ``validate_record_set``); an entry whose magic is not 2 raises
    ``InvalidRecordBatch`` (legacy message sets go through ``protocol.records.legacy``).
    """
    for _offset, magic, entry in iter_entries(buf):
        if magic != 2:
            raise InvalidRecordBatch(f"expected a v2 record batch (magic 2), found magic {magic}")
        yield read_header(entry), entry


def record_set_magic(buf: Buffer) -> int | None:
    """The magic of the first entry, or None if the buffer is too short to hold one."""
    if len(buf) <= MAGIC_OFFSET:
        return None
    return buf[MAGIC_OFFSET]


def validate_record_set(buf: Buffer, *, max_batch_size: int | None = None) -> list[BatchHeader]:
    """Check a produce payload: whole v2 batches only, each with a sane size and a valid CRC-32C.

    Returns the headers in order (an empty list for an empty buffer). Raises ``CorruptRecordBatch``
    for a cut or damaged batch or a CRC mismatch, ``InvalidRecordBatch`` for a wrong magic, a batch
    over ``max_batch_size`` or a negative record count. The records themselves are not decoded.
    """
    view = memoryview(buf)
    headers: list[BatchHeader] = []
    pos = 0
    end = len(view)
    while pos < end:
        if end - pos < HEADER_SIZE:
            raise CorruptRecordBatch(
                f"record batch at byte {pos} is cut short: {end - pos} bytes, header needs {HEADER_SIZE}"
            )
        magic = view[pos + MAGIC_OFFSET]
        if magic != 2:
            raise InvalidRecordBatch(f"record batch at byte {pos} has magic {magic}, expected 2")
        try:
            header = read_header(view, pos)
        except InvalidRecordBatch as e:
            raise CorruptRecordBatch(f"record batch at byte {pos}: {e}") from None
        if end - pos < header.size:
            raise CorruptRecordBatch(
                f"record batch at byte {pos} declares {header.size} bytes but only {end - pos} remain"
            )
        if max_batch_size is not None and header.size > max_batch_size:
            raise InvalidRecordBatch(f"record batch at byte {pos} is {header.size} bytes, larger than {max_batch_size}")
        computed = compute_crc(view, pos, header.size)
        if computed != header.crc:
            raise CorruptRecordBatch(
                f"record batch at byte {pos} is corrupt (stored crc = {header.crc}, computed crc = {computed})"
            )
        if header.records_count < 0 or header.last_offset_delta < 0:
            raise InvalidRecordBatch(
                f"record batch at byte {pos} declares {header.records_count} records and "
                f"last offset delta {header.last_offset_delta}"
            )
        headers.append(header)
        pos += header.size
    return headers

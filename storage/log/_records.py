"""Record-level timestamps of a v2 batch, for ListOffsets by timestamp and max timestamp.

Only the fields needed are decoded (length, attributes, timestamp delta, offset delta); the rest of each
record is skipped by its length. Compressed batches need a ``Decompress`` hook (the broker passes the
codec of ``protocol.records``); without one the answer is batch-granular (see ``record_timestamps``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from protocol.records.header import HEADER_SIZE, BatchHeader, read_header

Decompress = Callable[[int, bytes], bytes]
"""(compression codec id, compressed records bytes) -> the uncompressed records bytes."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """A zigzag varint at ``pos``: (value, next position)."""
    result = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")
    return (result >> 1) ^ -(result & 1), pos


def record_timestamps(batch: bytes, decompress: Decompress | None = None) -> Iterator[tuple[int, int]]:
    """(offset, timestamp) of each record of the batch, in order.

    LogAppendTime batches: every record has the batch's max timestamp. Compressed batches without a
    ``decompress`` hook yield one pair (base offset, base timestamp) and then (last offset, max
    timestamp): a batch-granular answer that never skips a record a consumer should see.
    """
    header: BatchHeader = read_header(batch)
    if header.timestamp_type == 1:
        yield header.base_offset, header.max_timestamp
        return
    body = batch[HEADER_SIZE : header.size]
    if header.compression != 0:
        if decompress is None:
            yield header.base_offset, header.base_timestamp
            yield header.last_offset, header.max_timestamp
            return
        body = decompress(int(header.compression), bytes(body))
    pos = 0
    try:
        for _ in range(header.records_count):
            length, pos = _varint(body, pos)
            end = pos + length
            pos += 1  # attributes
            ts_delta, pos = _varint(body, pos)
            offset_delta, pos = _varint(body, pos)
            yield header.base_offset + offset_delta, header.base_timestamp + ts_delta
            pos = end
    except (IndexError, ValueError):
        return

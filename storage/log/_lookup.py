"""Lookups by timestamp over a log's segments (ListOffsets): record-level answers from batch headers,
the indexes, and the records of one batch at most per segment."""

from __future__ import annotations

from collections.abc import Sequence

from storage.log._records import Decompress, record_timestamps
from storage.log.segment import LogSegment


def first_offset_at_or_after(
    segments: Sequence[LogSegment], timestamp: int, log_start_offset: int, decompress: Decompress | None
) -> tuple[int, int] | None:
    """(offset, timestamp) of the first record at or after ``log_start_offset`` whose timestamp is
    >= ``timestamp``, or None."""
    for seg in segments:
        if seg.max_timestamp < timestamp:
            continue
        _, ts_offset = seg.time_index.lookup(timestamp)
        _, position = seg.offset_index.lookup(ts_offset)
        for batch in seg.batches(position):
            if batch.max_timestamp < timestamp or batch.last_offset < log_start_offset:
                continue
            data = seg.read_bytes(batch.position, batch.size)
            for offset, ts in record_timestamps(data, decompress):
                if ts >= timestamp and offset >= log_start_offset:
                    return offset, ts
    return None


def offset_of_max_timestamp(segments: Sequence[LogSegment], decompress: Decompress | None) -> tuple[int, int] | None:
    """(offset, timestamp) of the first record holding the largest timestamp, or None."""
    best = max(segments, key=lambda s: s.max_timestamp)
    if best.max_timestamp < 0:
        return None
    batch = best.translate_offset(best.offset_of_max_timestamp)
    if batch is None:
        return None
    data = best.read_bytes(batch.position, batch.size)
    for offset, ts in record_timestamps(data, decompress):
        if ts >= best.max_timestamp:
            return offset, best.max_timestamp
    return batch.last_offset, best.max_timestamp

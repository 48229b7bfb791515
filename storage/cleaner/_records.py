"""Compaction at the record level: the offset map of a dirty section, and the filtering of one batch.

Rules (Kafka's LogCleaner, KIP-534 delete horizons):

- the offset map holds, for each key of the dirty section, the offset of its last record there;
- a record is kept if no later record of its key is in the map (``offset >= map.get(key, -1)``);
  a record without a key is dropped (a compacted topic refuses them on append; older data may have
  some), as Kafka does;
- a tombstone (null value) is kept until its batch's delete horizon has passed. A batch holding
  tombstones gets a horizon (now + delete.retention.ms, in the batch's base timestamp with the
  delete-horizon attribute) the first time it is cleaned, so a tombstone lives at least
  delete.retention.ms after it was first compacted; the next cleaning after that drops it;
- offsets never change: a rewritten batch keeps its base offset and last offset delta (so its
  offset range, and for an idempotent producer its sequence range), producer id, epoch, base
  sequence, partition leader epoch, timestamp type and compression codec;
- a batch that loses all its records disappears, except the last batch of a producer still in the
  producer state, which stays as an empty batch (its header keeps the producer's last sequence
  and epoch, so the state rebuilt from the log after a restart is right: Kafka's RETAIN_EMPTY);
- transactional batches and control batches (transaction markers) are kept as they are and their
  keys do not enter the map (removing aborted data and old markers is not implemented yet): a
  transactional record neither supersedes nor is superseded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from protocol.records import Record, build_batch, iter_records
from protocol.records.header import DELETE_HORIZON_MASK, BatchHeader, Compression
from storage.log._producers import segment_headers
from storage.log.segment import LogSegment

OffsetMap = dict[bytes, int]


@dataclass(slots=True)
class CleanerStats:
    """What one cleaning did (for logs and tests)."""

    bytes_read: int = 0
    bytes_written: int = 0
    records_read: int = 0
    records_kept: int = 0
    tombstones_dropped: int = 0
    batches_rewritten: int = 0
    segments_cleaned: int = 0
    earliest_horizon: int | None = None  # of the batches that still hold tombstones

    def note_horizon(self, horizon: int) -> None:
        if self.earliest_horizon is None or horizon < self.earliest_horizon:
            self.earliest_horizon = horizon


def segment_batches(seg: LogSegment) -> Iterator[tuple[BatchHeader, bytes]]:
    """Header and bytes of each whole batch of ``seg``."""
    for pos, header in segment_headers(seg):
        yield header, seg.read_bytes(pos, header.size)


def _compactable(header: BatchHeader) -> bool:
    return not header.is_control and not header.is_transactional


def map_batch(header: BatchHeader, data: bytes, offset_map: OffsetMap, start: int, stop: int) -> None:
    """Add the keys of the batch's records with offsets in [start, stop) to the map."""
    if header.last_offset < start or header.base_offset >= stop or not _compactable(header):
        return
    for record in iter_records(data):
        if start <= record.offset < stop and record.key is not None:
            offset_map[record.key] = record.offset


def delete_horizon(header: BatchHeader) -> int | None:
    """The batch's delete horizon (ms), if it has one (KIP-534)."""
    return header.base_timestamp if header.attributes & DELETE_HORIZON_MASK else None


@dataclass(frozen=True, slots=True)
class Retention:
    """What a cleaning keeps: the map, the time, delete.retention.ms, the producers' last offsets."""

    offset_map: OffsetMap
    now_ms: int
    delete_retention_ms: int
    last_data_offsets: frozenset[int]  # last offset of each live producer's last batch


def clean_batch(header: BatchHeader, data: bytes, retention: Retention, stats: CleanerStats) -> bytes | None:
    """The batch as it stays in the log: ``data`` itself, a rebuilt batch, or None (dropped)."""
    stats.bytes_read += len(data)
    if not _compactable(header):
        return data
    horizon = delete_horizon(header)
    kept: list[Record] = []
    count = 0
    for record in iter_records(data):
        count += 1
        latest = retention.offset_map.get(record.key, -1) if record.key is not None else None
        if latest is None or record.offset < latest:
            continue
        if record.value is None and horizon is not None and retention.now_ms >= horizon:
            stats.tombstones_dropped += 1
            continue
        kept.append(record)
    stats.records_read += count
    stats.records_kept += len(kept)
    if not kept and not (header.has_producer_id and header.last_offset in retention.last_data_offsets):
        return None
    has_tombstones = any(r.value is None for r in kept)
    needs_horizon = horizon is None and has_tombstones
    if needs_horizon:
        horizon = retention.now_ms + retention.delete_retention_ms
    if has_tombstones and horizon is not None:
        stats.note_horizon(horizon)
    if len(kept) == count and not needs_horizon:
        return data
    stats.batches_rewritten += 1
    return build_batch(
        kept,
        base_offset=header.base_offset,
        last_offset_delta=header.last_offset_delta,
        compression=header.compression if kept else Compression.NONE,
        producer_id=header.producer_id,
        producer_epoch=header.producer_epoch,
        base_sequence=header.base_sequence,
        partition_leader_epoch=header.partition_leader_epoch,
        timestamp_type=header.timestamp_type,
        max_timestamp=header.max_timestamp if header.timestamp_type == 1 or not kept else None,
        delete_horizon=horizon,
    )

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
- transactions (Kafka's CleanedTransactionMetadata, ``CleanedTxns``): the cleaner learns the aborted
  transactions of the range it cleans from the ``.txnindex`` files. A data batch of an aborted
  transaction is discarded (its records never enter the map); committed transactional records are
  compacted like any other. A marker stays while the cleaning still meets batches of its transaction
  (an ABORT marker then keeps its ``.txnindex`` entry, copied to the cleaned segment); once its
  transaction has no data left it gets a delete horizon (now + delete.retention.ms), and the first
  cleaning after the horizon removes it. The cleanable range never passes the last stable offset,
  so open transactions are never cleaned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from protocol.records import Record, build_batch, iter_records
from protocol.records.header import DELETE_HORIZON_MASK, BatchHeader, Compression, read_header
from storage.log._producers import segment_headers
from storage.log.segment import LogSegment
from storage.producer.txn import AbortedTxn, read_end_txn_marker

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


class CleanedTxns:
    """Which batches of a cleaned range belong to aborted transactions, and which markers may go
    (Kafka's CleanedTransactionMetadata). Feed it every batch of the range in offset order.

    ``aborted``: the aborted transactions overlapping the range (``Log.collect_aborted_transactions``).
    ``kept_index``: the ``.txnindex`` entries whose ABORT markers stay, in marker order.
    """

    __slots__ = ("_aborted", "_committed", "_ongoing_aborted", "kept_index")

    def __init__(self, aborted: list[AbortedTxn]) -> None:
        self._aborted = sorted(aborted, key=lambda t: t.first_offset)
        self._ongoing_aborted: dict[int, tuple[AbortedTxn, bool]] = {}  # pid -> (txn, a batch was met)
        self._committed: set[int] = set()
        self.kept_index: list[AbortedTxn] = []

    def _consume_up_to(self, offset: int) -> None:
        while self._aborted and self._aborted[0].first_offset <= offset:
            txn = self._aborted.pop(0)
            self._ongoing_aborted.setdefault(txn.producer_id, (txn, False))

    def on_data_batch(self, header: BatchHeader) -> bool:
        """True if the batch belongs to an aborted transaction (discard its records)."""
        self._consume_up_to(header.last_offset)
        if not header.is_transactional:
            return False
        pid = header.producer_id
        ongoing = self._ongoing_aborted.get(pid)
        if ongoing is not None:
            self._ongoing_aborted[pid] = (ongoing[0], True)
            return True
        self._committed.add(pid)
        return False

    def on_control_batch(self, header: BatchHeader, data: bytes) -> bool:
        """True if the marker's transaction has no data left in the range (the marker may go once its
        delete horizon passes)."""
        self._consume_up_to(header.last_offset)
        marker = read_end_txn_marker(data) if header.records_count else None
        pid = header.producer_id
        if marker is None:
            return True  # an empty control batch: nothing to keep
        if marker.is_commit:
            if pid in self._committed:
                self._committed.discard(pid)
                return False
            return True
        ongoing = self._ongoing_aborted.pop(pid, None)
        if ongoing is not None and ongoing[1]:
            self.kept_index.append(ongoing[0])
            return False
        return True


def aborted_batch(header: BatchHeader, txns: CleanedTxns | None) -> bool:
    """Whether a data batch belongs to an aborted transaction (and updates ``txns``)."""
    return txns is not None and txns.on_data_batch(header)


def map_batch(
    header: BatchHeader, data: bytes, offset_map: OffsetMap, start: int, stop: int, txns: CleanedTxns | None = None
) -> None:
    """Add the keys of the batch's records with offsets in [start, stop) to the map (not the records
    of aborted transactions, nor markers). ``txns`` sees every batch of the mapped range in order."""
    if header.is_control:
        if txns is not None:
            txns.on_control_batch(header, data)
        return
    if aborted_batch(header, txns) or header.last_offset < start or header.base_offset >= stop:
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


def _clean_marker(header: BatchHeader, data: bytes, retention: Retention, txns: CleanedTxns) -> bytes | None:
    """A control batch: kept as it is while its transaction has data; then stamped with a delete
    horizon; dropped at the first cleaning after the horizon."""
    if not txns.on_control_batch(header, data):
        return data
    horizon = delete_horizon(header)
    if horizon is not None:
        return None if retention.now_ms >= horizon else data
    return build_batch(
        list(iter_records(data)),
        base_offset=header.base_offset,
        last_offset_delta=header.last_offset_delta,
        producer_id=header.producer_id,
        producer_epoch=header.producer_epoch,
        base_sequence=header.base_sequence,
        is_transactional=True,
        is_control=True,
        partition_leader_epoch=header.partition_leader_epoch,
        timestamp_type=header.timestamp_type,
        max_timestamp=header.max_timestamp,
        delete_horizon=retention.now_ms + retention.delete_retention_ms,
    )


def clean_batch(
    header: BatchHeader, data: bytes, retention: Retention, stats: CleanerStats, txns: CleanedTxns | None = None
) -> bytes | None:
    """The batch as it stays in the log: ``data`` itself, a rebuilt batch, or None (dropped).
    ``txns`` sees every batch of the cleaned group in order (None: keep transactional data and
    markers as they are)."""
    stats.bytes_read += len(data)
    if header.is_control:
        if txns is None:
            return data
        out = _clean_marker(header, data, retention, txns)
        if out is not None and out is not data:
            stats.batches_rewritten += 1
        if out is not None and (horizon := delete_horizon(read_header(out))) is not None:
            stats.note_horizon(horizon)
        return out
    if header.is_transactional and txns is None:
        return data
    discard = aborted_batch(header, txns)
    horizon = delete_horizon(header)
    kept: list[Record] = []
    count = 0
    for record in iter_records(data):
        count += 1
        if discard:
            continue
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
        is_transactional=header.is_transactional,
        partition_leader_epoch=header.partition_leader_epoch,
        timestamp_type=header.timestamp_type,
        max_timestamp=header.max_timestamp if header.timestamp_type == 1 or not kept else None,
        delete_horizon=horizon,
    )

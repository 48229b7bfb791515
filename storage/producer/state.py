"""ProducerStateManager: per-partition state of idempotent and transactional producers (Kafka's).

For every producer id that wrote to the partition it keeps the epoch, the last five batches (to answer
retried duplicates with their original offsets), the coordinator epoch and the open transaction, and
for the partition the open and completed-but-unreplicated transactions that hold back the last stable
offset. It is rebuilt from ``<offset>.snapshot`` files plus a replay of batch headers from the log.

How the Log uses it (a leader's append; a follower's is the same with ``AppendOrigin.REPLICATION``)::

    append = psm.prepare_append(AppendOrigin.CLIENT)
    for header in batches:                       # offsets already assigned
        marker = read_end_txn_marker(buf, pos) if header.is_control else None
        duplicate = append.append(header, marker)   # raises OutOfOrderSequence, InvalidProducerEpoch..
        if duplicate is not None:
            return duplicate.first_offset, duplicate.last_offset  # answer NONE, append nothing
    ... write the batches ...
    aborted = psm.commit(append)                 # AbortedTxn entries for the segment's .txnindex
    lso = min(psm.first_unstable_offset() or log_end_offset, high_watermark)

Invariants:

* Not thread-safe. The owning Log's caller serializes every call (one event loop, or the Log's lock).
* Nothing changes until ``commit``: a rejected append leaves the state as it was. An append must be
  committed (or dropped) before the next one is prepared; a stale one is refused.
* ``map_end_offset`` is the offset after the last batch the state reflects; a snapshot at offset N is
  the state of all batches below N. Snapshots live in ``partition_dir`` next to the segments.
* Snapshots above the log end (truncated away) are deleted on reload; snapshots below the log start
  go with the segments (``delete_snapshots_before``). A snapshot exactly at the log start is kept
  (Kafka deletes it and loses the state of producers whose data is gone; keeping it matches the live
  state, which keeps such producers until they expire).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from protocol.records.header import BatchHeader
from storage.fs import REAL_FS, FileSystem
from storage.producer.entry import (
    NUM_BATCHES_TO_RETAIN,
    AppendOrigin,
    BatchMetadata,
    ProducerAppendInfo,
    ProducerStateEntry,
)
from storage.producer.errors import (
    CorruptSnapshot,
    InvalidProducerEpoch,
    InvalidTxnState,
    OutOfOrderSequence,
    ProducerStateError,
    TransactionCoordinatorFenced,
)
from storage.producer.snapshot import (
    list_snapshots,
    read_snapshot,
    snapshot_path,
    write_snapshot,
)
from storage.producer.txn import (
    AbortedTxn,
    CompletedTxn,
    EndTxnMarker,
    TxnMetadata,
    read_end_txn_marker,
)

__all__ = [
    "DEFAULT_PRODUCER_ID_EXPIRATION_MS",
    "NUM_BATCHES_TO_RETAIN",
    "AbortedTxn",
    "AppendOrigin",
    "BatchMetadata",
    "CompletedTxn",
    "CorruptSnapshot",
    "EndTxnMarker",
    "InvalidProducerEpoch",
    "InvalidTxnState",
    "OutOfOrderSequence",
    "ProducerAppend",
    "ProducerStateEntry",
    "ProducerStateError",
    "ProducerStateManager",
    "Replay",
    "ReplayedBatch",
    "TransactionCoordinatorFenced",
    "read_end_txn_marker",
]

DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000  # producer.id.expiration.ms

ReplayedBatch = tuple[BatchHeader, EndTxnMarker | None]
"""A batch read back from the log: its header, and for a control batch its marker."""

Replay = Callable[[int], Iterable[ReplayedBatch]]
"""Given a start offset, the log's batches from the one holding that offset on, in offset order."""


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class ProducerAppend:
    """The producer state one append would leave, checked batch by batch, applied by ``commit``."""

    __slots__ = ("_completed", "_generation", "_infos", "_manager", "duplicate", "next_offset", "origin")

    def __init__(self, manager: ProducerStateManager, origin: AppendOrigin, generation: int) -> None:
        self._manager = manager
        self._generation = generation
        self._infos: dict[int, ProducerAppendInfo] = {}
        self._completed: list[CompletedTxn] = []
        self.origin = origin
        self.duplicate: BatchMetadata | None = None
        self.next_offset = -1

    def append(self, header: BatchHeader, marker: EndTxnMarker | None = None) -> BatchMetadata | None:
        """Check the next batch of the append (its offsets assigned) and add it.

        Returns None, or for a CLIENT append whose data batch repeats one of the producer's last five
        (same epoch and sequence range) that batch's metadata: the broker answers the request with
        NONE and these offsets, appends nothing, and drops this ProducerAppend (Kafka's behaviour).
        Batches without a producer id are not tracked. A control batch with records needs its
        ``marker`` (``read_end_txn_marker``); an empty one is ignored.

        Raises InvalidProducerEpoch, OutOfOrderSequence, InvalidTxnState, TransactionCoordinatorFenced
        (the append must then be rejected as a whole), or ValueError for a caller's bug.
        """
        self.next_offset = max(self.next_offset, header.next_offset)
        pid = header.producer_id
        if not header.has_producer_id:
            return None
        if header.is_control and marker is None and header.records_count > 0:
            raise ValueError(f"control batch at offset {header.base_offset} needs its end-transaction marker")
        if self.origin is AppendOrigin.CLIENT and not header.is_control:
            duplicate = self._manager.find_duplicate(header)
            if duplicate is not None:
                self.duplicate = duplicate
                return duplicate
        info = self._infos.get(pid)
        if info is None:
            info = ProducerAppendInfo(pid, self._manager.last_entry(pid), self.origin)
            self._infos[pid] = info
        completed = info.append(header, marker)
        if completed is not None:
            self._completed.append(completed)
        return None

    @property
    def completed_txns(self) -> list[CompletedTxn]:
        """Transactions this append's markers close, in marker order."""
        return list(self._completed)


class ProducerStateManager:
    """Producer state of one partition; see the module docstring for use and invariants."""

    def __init__(
        self,
        partition_dir: Path,
        producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
        time_ms: Callable[[], int] = _wall_clock_ms,
        fs: FileSystem = REAL_FS,
    ) -> None:
        self.partition_dir = Path(partition_dir)
        self._fs = fs
        self.producer_id_expiration_ms = producer_id_expiration_ms
        self._time_ms = time_ms
        self._producers: dict[int, ProducerStateEntry] = {}
        self._ongoing: dict[int, TxnMetadata] = {}  # open transactions by first offset
        self._unreplicated: dict[int, TxnMetadata] = {}  # completed, marker not yet below the HW
        self._snapshots = list_snapshots(self.partition_dir)
        self._map_end_offset = 0
        self._generation = 0
        self._last_replay: tuple[int, int, list[AbortedTxn]] | None = None  # generation, start, aborted

    # ----------------------------------------------------------------------------------- queries

    @property
    def map_end_offset(self) -> int:
        """The offset after the last batch reflected in the state."""
        return self._map_end_offset

    def last_entry(self, producer_id: int) -> ProducerStateEntry | None:
        """The producer's state (live object: read it, do not change it), or None if unknown."""
        return self._producers.get(producer_id)

    def active_producers(self) -> Mapping[int, ProducerStateEntry]:
        """Read-only view of every known producer (for DescribeProducers)."""
        return MappingProxyType(self._producers)

    @property
    def producer_id_count(self) -> int:
        return len(self._producers)

    def is_empty(self) -> bool:
        return not self._producers and not self._unreplicated

    def find_duplicate(self, header: BatchHeader) -> BatchMetadata | None:
        """The retained batch this one repeats (same producer, epoch and sequence range), if any."""
        entry = self._producers.get(header.producer_id)
        return None if entry is None else entry.find_duplicate(header)

    def first_undecided_offset(self) -> int | None:
        """First offset of the oldest transaction without a marker yet."""
        return min(self._ongoing, default=None)

    def first_unstable_offset(self) -> int | None:
        """First offset of the oldest transaction that is open, or closed by a marker not yet below the
        high watermark. The last stable offset is this, or the high watermark if lower or None."""
        return min(min(self._ongoing, default=None), min(self._unreplicated, default=None), key=_none_last)

    def ongoing_transactions(self) -> list[TxnMetadata]:
        return sorted(self._ongoing.values(), key=lambda t: t.first_offset)

    # ------------------------------------------------------------------------------- append path

    def prepare_append(self, origin: AppendOrigin) -> ProducerAppend:
        """Start checking an append; nothing changes until ``commit``."""
        return ProducerAppend(self, origin, self._generation)

    def commit(self, append: ProducerAppend) -> list[AbortedTxn]:
        """Apply a checked append after its batches were written to the log.

        Returns the transactions it aborted as transaction index entries (with the LSO right after each
        marker), for the Log to write to the active segment's ``.txnindex``.
        """
        if append._manager is not self or append._generation != self._generation:
            raise ValueError("this append was prepared before a later change of the producer state")
        if append.duplicate is not None:
            raise ValueError("an append holding a duplicate batch must not be committed")
        for pid, info in append._infos.items():
            entry = self._producers.get(pid)
            if entry is None:
                self._producers[pid] = info.updated
            else:
                entry.merge(info.updated)
            for first_offset in info.started_txns:
                self._ongoing[first_offset] = TxnMetadata(pid, first_offset)
        aborted = []
        for txn in append._completed:
            if txn.is_aborted:
                lso = self._last_stable_offset(txn)
                aborted.append(AbortedTxn(txn.producer_id, txn.first_offset, txn.last_offset, lso))
            self._complete_txn(txn)
        self._map_end_offset = max(self._map_end_offset, append.next_offset)
        self._generation += 1
        return aborted

    def update_map_end_offset(self, offset: int) -> None:
        """Say the state reflects the log up to ``offset`` (exclusive), e.g. at a roll."""
        self._map_end_offset = offset

    def on_high_watermark_updated(self, high_watermark: int) -> None:
        """Completed transactions whose marker is below the high watermark stop holding back the LSO."""
        self._drop_unreplicated_below(high_watermark)

    def on_log_start_offset_incremented(self, log_start_offset: int) -> None:
        self._drop_unreplicated_below(log_start_offset)
        self._map_end_offset = max(self._map_end_offset, log_start_offset)

    def remove_expired(self, now_ms: int | None = None) -> list[int]:
        """Forget producers idle for ``producer_id_expiration_ms`` and not inside a transaction.

        Idle time is measured from the producer's last batch max timestamp, as in Kafka. Returns the
        ids removed.
        """
        now = self._time_ms() if now_ms is None else now_ms
        expired = [pid for pid, entry in self._producers.items() if self._is_expired(entry, now)]
        for pid in expired:
            del self._producers[pid]
        if expired:
            self._generation += 1
        return expired

    # --------------------------------------------------------------------------------- snapshots

    def snapshot_offsets(self) -> list[int]:
        return sorted(self._snapshots)

    def latest_snapshot_offset(self) -> int | None:
        return max(self._snapshots, default=None)

    def oldest_snapshot_offset(self) -> int | None:
        return min(self._snapshots, default=None)

    def take_snapshot(self, *, sync: bool = True) -> Path | None:
        """Write ``<map_end_offset>.snapshot`` unless it exists; returns the path written, if any.

        The Log calls it at every segment roll (``sync=False``: the roll's background flush fsyncs the
        file, as Kafka's does) and at a clean shutdown. With ``sync`` it blocks on fsyncs.
        """
        offset = self._map_end_offset
        if offset in self._snapshots:
            return None
        path = snapshot_path(self.partition_dir, offset)
        write_snapshot(self._fs, path, self._producers.values(), sync=sync)
        self._snapshots[offset] = path
        return path

    def delete_snapshots_before(self, offset: int) -> None:
        """Delete snapshots below ``offset`` (the segments they stood beside are gone)."""
        for snap in [o for o in self._snapshots if o < offset]:
            self._delete_snapshot(snap)

    def remove_snapshots_before(self, offset: int) -> list[Path]:
        """Forget the snapshots below ``offset`` and return their files, for the caller to delete
        later and off the event loop, with the segments they stood beside (as Kafka does). A file left
        behind by a crash is deleted at the next load (it lies below the log start)."""
        return [self._snapshots.pop(o) for o in sorted(self._snapshots) if o < offset]

    # ----------------------------------------------------------------------------------- rebuild

    def load(
        self,
        log_start_offset: int,
        log_end_offset: int,
        replay: Replay,
        now_ms: int | None = None,
        snapshot_at: Iterable[int] = (),
        *,
        sync_snapshots: bool = True,
    ) -> list[AbortedTxn]:
        """Rebuild the state for a log spanning [log_start_offset, log_end_offset).

        Deletes snapshots outside that span and half-written temp files, loads the newest snapshot
        that passes its checks (deleting corrupt ones on the way; none left: start empty at the log
        start), drops expired producers, then replays the log from the snapshot's offset with
        ``replay`` and writes a snapshot at the log end if it replayed anything. ``snapshot_at``
        (Kafka: the last two segment base offsets) asks for snapshots at those offsets on the way.
        ``sync_snapshots=False`` writes them without fsyncs (a follower's truncation, on the event loop:
        snapshots are derived data, a torn one fails its CRC and is deleted at the next load, which
        then starts from an older one and replays further).

        Returns the aborted transactions met while replaying (transaction index entries), so the Log
        can rebuild ``.txnindex`` files. Raises what ``replay`` raises, and InvalidTxnState if the log
        itself breaks transaction rules.
        """
        now = self._time_ms() if now_ms is None else now_ms
        self._snapshots = list_snapshots(self.partition_dir, self._fs)  # and half-written ones removed
        self._delete_out_of_range_snapshots(log_start_offset, log_end_offset)
        self._clear()
        self._load_latest_snapshot(log_start_offset, now)
        return self._replay(replay, log_end_offset, sorted(set(snapshot_at)), sync_snapshots)

    def aborted_between(self, log_start_offset: int, start: int, end: int, replay: Replay) -> list[AbortedTxn]:
        """The transactions aborted by markers in [start, end), as transaction index entries, for
        rebuilding ``.txnindex`` files after an unclean stop. Side-effect free: it works on a fresh
        manager (the newest snapshot at or below ``start`` plus a replay), writes and deletes nothing,
        and leaves this one as it was. Right after a ``load`` whose replay began at or below
        ``start`` (the usual case after an unclean stop), that replay's findings answer at once."""
        cached = self._last_replay
        if cached is not None and cached[0] == self._generation and cached[1] <= start and end == self._map_end_offset:
            return [t for t in cached[2] if start <= t.last_offset < end]
        scratch = ProducerStateManager(self.partition_dir, self.producer_id_expiration_ms, self._time_ms, self._fs)
        scratch._map_end_offset = log_start_offset
        for offset in sorted((o for o in scratch._snapshots if log_start_offset <= o <= start), reverse=True):
            try:
                entries = read_snapshot(self._fs, scratch._snapshots[offset])
            except CorruptSnapshot:
                continue
            for entry in entries:
                scratch._producers[entry.producer_id] = entry
                if entry.current_txn_first_offset is not None:
                    first = entry.current_txn_first_offset
                    scratch._ongoing[first] = TxnMetadata(entry.producer_id, first)
            scratch._map_end_offset = offset
            break
        aborted: list[AbortedTxn] = []
        begin = scratch._map_end_offset
        for header, marker in replay(begin):
            if header.base_offset >= end:
                break
            if header.last_offset < begin:
                continue
            append = scratch.prepare_append(AppendOrigin.REPLICATION)
            append.append(header, marker)
            found = scratch.commit(append)
            if header.base_offset >= start:
                aborted.extend(found)
        return aborted

    def truncate_and_reload(
        self,
        log_start_offset: int,
        log_end_offset: int,
        replay: Replay,
        now_ms: int | None = None,
        *,
        sync_snapshots: bool = True,
    ) -> list[AbortedTxn]:
        """After the log was truncated (or its start moved): keep the state if it already ends at
        ``log_end_offset``, else rebuild it as ``load`` does."""
        self._delete_out_of_range_snapshots(log_start_offset, log_end_offset)
        if log_end_offset != self._map_end_offset:
            return self.load(log_start_offset, log_end_offset, replay, now_ms, sync_snapshots=sync_snapshots)
        self.on_log_start_offset_incremented(log_start_offset)
        return []

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Forget everything and delete all snapshots: the log was emptied and restarts at ``offset``."""
        for snap in list(self._snapshots):
            self._delete_snapshot(snap)
        self._clear()
        self._map_end_offset = offset

    # ---------------------------------------------------------------------------------- private

    def _is_expired(self, entry: ProducerStateEntry, now_ms: int) -> bool:
        return (
            entry.current_txn_first_offset is None and now_ms - entry.last_timestamp >= self.producer_id_expiration_ms
        )

    def _last_stable_offset(self, txn: CompletedTxn) -> int:
        """The LSO once ``txn`` is complete: the next open transaction of another producer, if any."""
        others = [first for first, t in self._ongoing.items() if t.producer_id != txn.producer_id]
        return min(others, default=txn.last_offset + 1)

    def _complete_txn(self, txn: CompletedTxn) -> None:
        meta = self._ongoing.pop(txn.first_offset, None) or TxnMetadata(txn.producer_id, txn.first_offset)
        meta.last_offset = txn.last_offset
        self._unreplicated[txn.first_offset] = meta

    def _drop_unreplicated_below(self, offset: int) -> None:
        for first, meta in list(self._unreplicated.items()):
            if meta.last_offset is not None and meta.last_offset < offset:
                del self._unreplicated[first]

    def _clear(self) -> None:
        self._producers.clear()
        self._ongoing.clear()
        self._unreplicated.clear()
        self._generation += 1

    def _delete_snapshot(self, offset: int) -> None:
        path = self._snapshots.pop(offset, None)
        if path is not None:
            self._fs.delete(str(path))

    def _delete_out_of_range_snapshots(self, log_start_offset: int, log_end_offset: int) -> None:
        for snap in [o for o in self._snapshots if o > log_end_offset or o < log_start_offset]:
            self._delete_snapshot(snap)

    def _load_latest_snapshot(self, log_start_offset: int, now_ms: int) -> None:
        for offset in sorted(self._snapshots, reverse=True):
            try:
                entries = read_snapshot(self._fs, self._snapshots[offset])
            except CorruptSnapshot:
                self._delete_snapshot(offset)
                continue
            for entry in entries:
                if self._is_expired(entry, now_ms):
                    continue
                self._producers[entry.producer_id] = entry
                if entry.current_txn_first_offset is not None:
                    first = entry.current_txn_first_offset
                    self._ongoing[first] = TxnMetadata(entry.producer_id, first)
            self._map_end_offset = offset
            return
        self._map_end_offset = log_start_offset

    def _replay(self, replay: Replay, log_end_offset: int, snapshot_at: list[int], sync: bool) -> list[AbortedTxn]:
        start = self._map_end_offset
        aborted: list[AbortedTxn] = []
        if start < log_end_offset:
            pending = [o for o in snapshot_at if start < o <= log_end_offset]
            for header, marker in replay(start):
                if header.base_offset >= log_end_offset:
                    break
                if header.last_offset < start:
                    continue
                while pending and pending[0] <= header.base_offset:
                    self._snapshot_at(pending.pop(0), sync)
                append = self.prepare_append(AppendOrigin.REPLICATION)
                append.append(header, marker)
                aborted.extend(self.commit(append))
            for offset in pending:
                self._snapshot_at(offset, sync)
            self._map_end_offset = log_end_offset
            self.take_snapshot(sync=sync)
        self._map_end_offset = log_end_offset
        self._last_replay = (self._generation, start, aborted)
        return aborted

    def _snapshot_at(self, offset: int, sync: bool) -> None:
        """During replay: a snapshot at ``offset`` (a batch boundary the state has just reached)."""
        if offset >= self._map_end_offset:
            self._map_end_offset = offset
            self.take_snapshot(sync=sync)


def _none_last(value: int | None) -> float:
    return float("inf") if value is None else value

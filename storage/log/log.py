"""``Log``: one partition's log (``<log.dir>/<topic>-<partition>/``), as Kafka's UnifiedLog on top of a
``LocalLog`` (``storage.log.local_log``: the segments, rolls, reads, truncation, flushes and the recovery
point).

Offsets: ``log_start_offset`` <= ``high_watermark`` <= ``log_end_offset``. The last segment is the
active one; only it is appended to. ``recovery_point`` is the offset below which everything was fsynced:
each roll flushes what it rolled (through ``flush_scheduler``, in the broker a worker thread) and then
moves it, so a recovery after a crash starts at the active segment.

This class holds what the segments do not: the high watermark and the log start offset, the last
stable offset, producer state, leader epochs, validating appends, and the decisions of when to roll
and which segments retention deletes.

Invariants:
- an append is all or nothing: validation happens before any byte is written, and a failed write is
  rolled back; if it cannot be, the log goes offline (``LogOffline``) and refuses further work.

Producer state (idempotence, transactions) is kept as Kafka's UnifiedLog keeps it: every append runs
through the log's ``ProducerStateManager`` (see ``storage.log._producers``), a snapshot is taken at
every roll (at the new segment's base offset, fsynced by the roll's flush) and at ``close``, snapshots
below the log start go with the segments, and a truncation reloads the state from the newest snapshot
plus a replay of the log. ``last_stable_offset`` is min(first unstable offset, high watermark).

Open logs with ``LogLoader.load`` (``storage.recovery.loader``). Not thread-safe: the caller (the broker's
event loop, or a worker thread it hands the log to) serialises every call on one log.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from protocol.records.header import (
    set_base_offset,
    set_max_timestamp_log_append_time,
    set_partition_leader_epoch,
)
from storage.config import LogConfig
from storage.errors import (
    LogOffline,
    OffsetOutOfRange,
    UnexpectedAppendOffset,
)
from storage.fs import FileSystem
from storage.log._lookup import first_offset_at_or_after, offset_of_max_timestamp
from storage.log._producers import (
    check_append,
    check_client_batches,
    commit_append,
    duplicate_append_info,
    load_producer_state,
    replay_segments,
)
from storage.log._records import Decompress
from storage.log._txn import AbortedTxn, CorruptTxnIndex, aborted_in_read, collect_aborted, rebuild_txn_indexes
from storage.log._validate import (
    check_keys_for_compaction,
    check_timestamps,
    repair_max_timestamps,
    validate_batches,
)
from storage.log.epoch_cache import LeaderEpochCache
from storage.log.local_log import FlushWork, LocalLog
from storage.log.results import FetchDataInfo, LogAppendInfo
from storage.log.segment import AppendedBatch, LogSegment, SegmentBroken
from storage.producer.state import AppendOrigin, ProducerStateManager, ReplayedBatch

Records = bytes | bytearray | memoryview


FlushScheduler = Callable[["Log", FlushWork], None]
# Who writes a log's leader-epoch checkpoint (``LeaderEpochCache.write_scheduler``, bound to the log).
EpochWriteScheduler = Callable[["Log", Callable[[], None]], None]


class Log:
    def __init__(
        self,
        directory: str,
        topic: str,
        partition: int,
        config: LogConfig,
        fs: FileSystem,
        time_ms: Callable[[], int],
        segments: list[LogSegment],
        log_start_offset: int,
        recovery_point: int,
        epoch_cache: LeaderEpochCache,
        decompress: Decompress | None = None,
        producer_state: ProducerStateManager | None = None,
    ) -> None:
        """Use ``LogLoader.load``; this constructor trusts its arguments (and loads no producer state:
        ``load_producer_state`` does)."""
        self.directory = directory
        self.topic = topic
        self.partition = partition
        self._config = config
        self._fs = fs
        self._time_ms = time_ms
        self._local = LocalLog(directory, f"{topic}-{partition}", config, fs, time_ms, segments, recovery_point)
        self._log_start_offset = log_start_offset
        self._high_watermark = log_start_offset
        self.epoch_cache = epoch_cache
        self._decompress = decompress
        # Who runs the flush of a rolled segment (the broker: in a worker thread); None: at once.
        self.flush_scheduler: FlushScheduler | None = None
        self._roll_jitter_ms = random.randint(0, config.segment_jitter_ms) if config.segment_jitter_ms else 0
        if producer_state is None:
            producer_state = ProducerStateManager(Path(directory), time_ms=time_ms, fs=fs)
        self._producer_state = producer_state

    # -- state ------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return f"{self.topic}-{self.partition}"

    @property
    def config(self) -> LogConfig:
        return self._config

    def update_config(self, config: LogConfig) -> None:
        """New topic configs apply to the next append, roll and retention pass."""
        self._config = config
        self._local.config = config
        for seg in self._local.segments:
            seg.config = config

    @property
    def log_start_offset(self) -> int:
        return self._log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self._local.log_end_offset

    @property
    def high_watermark(self) -> int:
        return self._high_watermark

    def set_high_watermark(self, offset: int) -> int:
        """Set the HW (the caller's replication decides it), clamped to [log start, log end]."""
        self._high_watermark = max(self._log_start_offset, min(offset, self._local.log_end_offset))
        self._producer_state.on_high_watermark_updated(self._high_watermark)
        return self._high_watermark

    @property
    def last_stable_offset(self) -> int:
        """Where read_committed consumers stop: the first offset of the oldest transaction that is
        open (or whose marker is not yet below the HW), or the high watermark if that is lower."""
        first_unstable = self._producer_state.first_unstable_offset()
        if first_unstable is None:
            return self._high_watermark
        return max(self._log_start_offset, min(first_unstable, self._high_watermark))

    @property
    def producer_state(self) -> ProducerStateManager:
        """The partition's producer state (read it; the log alone changes it)."""
        return self._producer_state

    @property
    def recovery_point(self) -> int:
        return self._local.recovery_point

    @property
    def segments(self) -> tuple[LogSegment, ...]:
        return tuple(self._local.segments)

    @property
    def active_segment(self) -> LogSegment:
        return self._local.active_segment

    @property
    def size(self) -> int:
        return self._local.size

    @property
    def offline(self) -> bool:
        return self._local.offline_reason is not None

    @property
    def latest_epoch(self) -> int:
        return self.epoch_cache.latest_epoch

    def _check_online(self) -> None:
        self._local.check_online()

    # -- appends ----------------------------------------------------------------------------------
    def append_as_leader(
        self,
        records: Records,
        leader_epoch: int,
        now_ms: int | None = None,
        origin: AppendOrigin = AppendOrigin.CLIENT,
    ) -> LogAppendInfo:
        """Validate, assign offsets from the log end offset, stamp ``leader_epoch``, check the producer
        state and append. ``origin`` is CLIENT for produce requests (control batches are refused) and
        COORDINATOR for the group and transaction coordinators (transaction markers).

        A producer's retried batch is not appended again: the answer has ``duplicate=True`` and the
        original offsets (see ``storage.log._producers`` for requests of several batches). Raises
        OutOfOrderSequence, InvalidProducerEpoch, InvalidTxnState, TransactionCoordinatorFenced (and
        appends nothing) when the producer state refuses a batch.

        A ``bytearray`` is patched in place (no copy); other buffers are copied first.
        """
        self._check_online()
        now = self._time_ms() if now_ms is None else now_ms
        config = self._config
        batches = validate_batches(records, config.max_message_bytes, from_leader_append=True)
        if not batches:
            return self._empty_info()
        if origin is AppendOrigin.CLIENT:
            check_client_batches(batches)
        elif origin is AppendOrigin.REPLICATION:
            raise ValueError("a leader append cannot have origin REPLICATION (use append_as_follower)")
        buf = records if isinstance(records, bytearray) else bytearray(records)
        log_append_time = now if config.log_append_time else -1
        if not config.log_append_time:
            batches = repair_max_timestamps(buf, batches)
            check_timestamps(self.name, config, batches, now)
        if config.compact_enabled:
            check_keys_for_compaction(self.name, records, batches)
        next_offset = self._local.log_end_offset
        appended: list[AppendedBatch] = []
        max_ts, offset_of_max_ts, count = -1, -1, 0
        for pos, header in batches:
            set_base_offset(buf, next_offset, pos)
            set_partition_leader_epoch(buf, leader_epoch, pos)
            if config.log_append_time:
                set_max_timestamp_log_append_time(buf, now, pos)
                batch_max_ts = now
            else:
                batch_max_ts = header.max_timestamp
            last = next_offset + header.last_offset_delta
            if batch_max_ts > max_ts:
                max_ts, offset_of_max_ts = batch_max_ts, last
            appended.append(AppendedBatch(pos, header.size, last, batch_max_ts))
            count += header.records_count
            next_offset = last + 1
        first_offset = self._local.log_end_offset
        producer_append, duplicates = check_append(self._producer_state, buf, batches, origin)
        if duplicates:
            return duplicate_append_info(duplicates, config.log_append_time, self._log_start_offset)
        self._append(buf, appended, first_offset, max_ts, now)
        aborted = commit_append(self._producer_state, producer_append, next_offset)
        if aborted:
            self._index_aborted(aborted)
        self.epoch_cache.assign(leader_epoch, first_offset)
        self._after_append(count, now)
        return LogAppendInfo(
            first_offset, next_offset - 1, log_append_time, self._log_start_offset, max_ts,
            offset_of_max_ts, count, len(buf),
        )  # fmt: skip

    def append_as_follower(self, records: Records, now_ms: int | None = None) -> LogAppendInfo:
        """Append batches with the leader's offsets and epochs (the follower fetch path)."""
        self._check_online()
        now = self._time_ms() if now_ms is None else now_ms
        batches = validate_batches(records, 2**31 - 1, from_leader_append=False)
        if not batches:
            return self._empty_info()
        expected = self._local.log_end_offset
        appended: list[AppendedBatch] = []
        max_ts, offset_of_max_ts, count = -1, -1, 0
        for pos, header in batches:
            if header.base_offset < expected:
                raise UnexpectedAppendOffset(
                    f"{self.name}: follower batch at offset {header.base_offset} is below {expected}"
                )
            if header.max_timestamp > max_ts:
                max_ts, offset_of_max_ts = header.max_timestamp, header.last_offset
            appended.append(AppendedBatch(pos, header.size, header.last_offset, header.max_timestamp))
            count += header.records_count
            expected = header.next_offset
        first_offset = batches[0][1].base_offset
        producer_append, _ = check_append(self._producer_state, records, batches, AppendOrigin.REPLICATION)
        self._append(records, appended, first_offset, max_ts, now)
        aborted = commit_append(self._producer_state, producer_append, expected)
        if aborted:
            self._index_aborted(aborted)
        for _, header in batches:
            self.epoch_cache.assign(header.partition_leader_epoch, header.base_offset)
        self._after_append(count, now)
        log_append_time = max_ts if batches[0][1].timestamp_type == 1 else -1
        return LogAppendInfo(
            first_offset, expected - 1, log_append_time, self._log_start_offset, max_ts,
            offset_of_max_ts, count, len(records),
        )  # fmt: skip

    def _empty_info(self) -> LogAppendInfo:
        return LogAppendInfo(-1, -1, -1, self._log_start_offset, -1, -1, 0, 0)

    def _append(self, buf: Records, batches: list[AppendedBatch], first_offset: int, max_ts: int, now: int) -> None:
        self._check_online()
        try:  # ``disk_op`` written out: this is the hot path
            self._maybe_roll(len(buf), first_offset, batches[-1].last_offset, max_ts, now)
        except (SegmentBroken, OSError) as e:
            raise self._local.gone_offline("roll", e) from e
        self._local.append(buf, batches)

    def _index_aborted(self, aborted: list[AbortedTxn]) -> None:
        """Markers just appended aborted these transactions: the active segment's ``.txnindex``."""
        with self._local.disk_op("transaction index append"):
            try:
                for txn in aborted:
                    self.active_segment.txn_index.append(txn)
            except CorruptTxnIndex:  # found damaged: rebuilt from the log, which holds these markers now
                self.rebuild_txn_indexes(self.active_segment.base_offset)

    def _after_append(self, count: int, now: int) -> None:
        if self._local.count_unflushed(count):
            self.flush()

    # -- rolling ----------------------------------------------------------------------------------
    def _maybe_roll(self, size: int, first_offset: int, last_offset: int, max_ts: int, now: int) -> None:
        seg = self.active_segment
        config = self._config
        if seg.size == 0:
            if not seg.can_hold_offset(last_offset) or seg.base_offset != first_offset:
                self.roll(now, first_offset)
            return
        rolling_ts = seg.rolling_based_timestamp()
        waited = (max_ts - rolling_ts) if rolling_ts is not None and max_ts >= 0 else now - seg.created_ms
        if (
            seg.size > config.segment_bytes - size
            or waited > config.segment_ms - self._roll_jitter_ms
            or seg.offset_index.is_full
            or seg.time_index.is_full
            or not seg.can_hold_offset(last_offset)
            or not seg.can_hold_offset(first_offset)
        ):
            self.roll(now, first_offset)

    def roll(self, now_ms: int | None = None, expected_next_offset: int | None = None) -> LogSegment:
        """Start a new active segment at the log end offset (or ``expected_next_offset`` if larger)."""
        base = max(self._local.log_end_offset, expected_next_offset or 0)
        seg = self._local.roll(base)
        if seg is None:
            return self.active_segment
        if self._config.segment_jitter_ms:
            self._roll_jitter_ms = random.randint(0, self._config.segment_jitter_ms)
        with self._local.disk_op("roll"):
            # The state of everything below the new segment, so a reload replays at most one segment.
            self._producer_state.update_map_end_offset(base)
            snapshot = self._producer_state.take_snapshot(sync=False)
            # Flush what was rolled (and the snapshot), then move the recovery point to ``base``, so a
            # recovery after a crash starts at the active segment.
            work = self._local.flush_work(base, () if snapshot is None else (str(snapshot),))
        if work is not None:
            self._schedule_flush(work)
        return seg

    def _schedule_flush(self, work: FlushWork) -> None:
        if self.flush_scheduler is not None:
            self.flush_scheduler(self, work)
            return
        with self._local.disk_op("flush"):
            work.run()
        self._local.mark_flushed(work)

    # -- reads ------------------------------------------------------------------------------------
    def read(
        self, start_offset: int, max_bytes: int, max_offset: int | None = None, min_one_message: bool = True
    ) -> FetchDataInfo:
        """Whole batches from the one holding ``start_offset``, all below ``max_offset`` (the HW or the
        LSO; default the log end), at most ``max_bytes`` unless the first batch alone is larger and
        ``min_one_message``. Reading at the log end (or at ``max_offset``) returns no data; below the
        log start offset or above the log end offset raises OffsetOutOfRange."""
        self._check_online()
        end = self._local.log_end_offset
        if start_offset < self._log_start_offset or start_offset > end:
            raise OffsetOutOfRange(start_offset, self._log_start_offset, end)
        bound = end if max_offset is None else min(max_offset, end)
        return self._local.read(start_offset, max_bytes, bound, min_one_message)

    def aborted_transactions(self, info: FetchDataInfo) -> tuple[AbortedTxn, ...]:
        """read_committed: the aborted transactions with data in what ``info`` (a ``read`` of this
        log) returned, for the Fetch answer; a damaged ``.txnindex`` on the way is rebuilt (once)."""
        self._check_online()
        try:
            return aborted_in_read(self.segments, self.log_end_offset, info)
        except CorruptTxnIndex:
            self.rebuild_txn_indexes(info.fetch_offset_metadata.segment_base_offset)
            return aborted_in_read(self.segments, self.log_end_offset, info)

    def collect_aborted_transactions(self, start_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
        """Aborted transactions with data in [start_offset, upper_bound_offset) (``.txnindex`` files)."""
        self._check_online()
        try:
            return collect_aborted(self.segments, start_offset, upper_bound_offset)
        except CorruptTxnIndex:
            self.rebuild_txn_indexes(start_offset)
            return collect_aborted(self.segments, start_offset, upper_bound_offset)

    # -- truncation -------------------------------------------------------------------------------
    def truncate_to(self, offset: int) -> bool:
        """Remove every batch holding an offset >= ``offset`` (follower truncation). True if anything
        was removed. Below the log start offset the whole log is replaced by an empty one at ``offset``."""
        self._check_online()
        if offset >= self._local.log_end_offset:
            # An epoch this replica began as leader without appending to it starts at the log end: it
            # goes all the same, or the follower would keep asking the leader about it (Kafka does too).
            self.epoch_cache.truncate_from_end(self._local.log_end_offset)
            return False
        if offset < self._log_start_offset:
            self.truncate_fully_and_start_at(offset)
            return True
        self._local.truncate_to(offset)
        self._after_truncation()
        with self._local.disk_op("reload producer state"):  # snapshots unsynced: derived data (see there)
            self._producer_state.truncate_and_reload(
                self._log_start_offset, self.log_end_offset, self._replay, sync_snapshots=False
            )
        return True

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Delete all data; the log restarts empty at ``offset`` (log start = log end = HW = offset)."""
        self._local.truncate_fully_and_start_at(offset)
        with self._local.disk_op("truncate fully"):
            self._log_start_offset = offset
            self._high_watermark = offset
            self.epoch_cache.clear()
            self._producer_state.truncate_fully_and_start_at(offset)

    def _after_truncation(self) -> None:
        # Truncating the batch that holds a mid-batch log start offset leaves the end below the start:
        # the log start follows the end down (the log is then empty), so start <= end always holds.
        end = self._local.log_end_offset
        self._log_start_offset = min(self._log_start_offset, end)
        self._high_watermark = min(self._high_watermark, end)
        self.epoch_cache.truncate_from_end(end)

    def delete_records_before(self, offset: int) -> int:
        """DeleteRecords: move the log start offset up to ``offset`` (at most the HW). Returns the new
        log start offset (the partition's low watermark). Whole segments below it go at the next
        retention pass."""
        self._check_online()
        if offset > self._high_watermark or offset < 0:
            raise OffsetOutOfRange(offset, self._log_start_offset, self._high_watermark, "DeleteRecords")
        if offset > self._log_start_offset:
            self._log_start_offset = offset
            self.epoch_cache.truncate_from_start(offset)
            self._on_log_start_moved()
        return self._log_start_offset

    def _on_log_start_moved(self, now: int | None = None) -> None:
        """Producer snapshots below the new log start go with the segments (``purge_work``)."""
        self._producer_state.on_log_start_offset_incremented(self._log_start_offset)
        doomed = self._producer_state.remove_snapshots_before(self._log_start_offset)
        if doomed:
            self._local.delete_files_later([str(p) for p in doomed], self._time_ms() if now is None else now)

    # -- retention --------------------------------------------------------------------------------
    def delete_old_segments(self, now_ms: int | None = None, *, purge: bool = True) -> int:
        """One retention pass: segments wholly below the log start offset, then (cleanup.policy delete)
        retention.ms and retention.bytes breaches. Never deletes data at or above the HW. Returns the
        number of segments deleted. Deleted segments are renamed ``.deleted`` here; their files go
        with ``purge`` now (if file.delete.delay.ms has passed), else with ``purge_work``."""
        self._check_online()
        now = self._time_ms() if now_ms is None else now_ms
        start = self._log_start_offset
        deleted = self._delete_segments(lambda seg, nxt: nxt is not None and nxt.base_offset <= start, now)
        config = self._config
        if config.delete_enabled and config.retention_ms >= 0:
            ms = config.retention_ms
            deleted += self._delete_segments(lambda seg, nxt: now - seg.largest_timestamp() > ms, now)
        if config.delete_enabled and config.retention_bytes >= 0:
            excess = [self.size - config.retention_bytes]

            def over_size(seg: LogSegment, nxt: LogSegment | None) -> bool:
                if excess[0] - seg.size >= 0:
                    excess[0] -= seg.size
                    return True
                return False

            deleted += self._delete_segments(over_size, now)
        if purge:
            self.purge_deleted_files(now)
        return deleted

    def _delete_segments(self, predicate: Callable[[LogSegment, LogSegment | None], bool], now: int) -> int:
        segments = self._local.segments
        doomed: list[LogSegment] = []
        for i, seg in enumerate(segments):
            nxt = segments[i + 1] if i + 1 < len(segments) else None
            if nxt is None and seg.size == 0:
                break
            if self._local.segment_end(i) > self._high_watermark or not predicate(seg, nxt):
                break
            doomed.append(seg)
        if not doomed:
            return 0
        if len(doomed) == len(segments):
            self.roll(now)
        self._local.remove_segments(doomed, now)
        first_base = self._local.segments[0].base_offset
        if first_base > self._log_start_offset:
            self._log_start_offset = first_base
            self.epoch_cache.truncate_from_start(self._log_start_offset)
        self._on_log_start_moved(now)
        self._high_watermark = max(self._high_watermark, self._log_start_offset)
        self._local.raise_recovery_point(self._log_start_offset)
        return len(doomed)

    def replace_segments(self, old: list[LogSegment], new: LogSegment, now_ms: int | None = None) -> bool:
        """Swap in ``new`` (a cleaned segment written with the ``.cleaned`` suffix, flushed) for the
        consecutive non-active segments ``old``, whose first base offset it shares; False (and nothing
        done) if ``old`` are no longer consecutive segments of this log. The steps (Kafka's) leave a
        crash recoverable at every point (``LogLoader``): rename ``new`` to ``.swap``; take ``old`` out
        and rename them ``.deleted``; drop the ``.swap`` suffix."""
        return self._local.replace_segments(old, new, self._time_ms() if now_ms is None else now_ms)

    def purge_deleted_files(self, now_ms: int | None = None) -> None:
        """Delete ``.deleted`` files whose file.delete.delay.ms has passed (Kafka defers it so that
        reads in flight finish)."""
        self._local.purge_deleted_files(self._time_ms() if now_ms is None else now_ms)

    def purge_work(self, now_ms: int | None = None) -> Callable[[], None] | None:
        """Take the ``.deleted`` segments whose file.delete.delay.ms has passed; returns the blocking
        deletion of their files, to run in any thread, or None."""
        return self._local.purge_work(self._time_ms() if now_ms is None else now_ms)

    # -- timestamps and epochs --------------------------------------------------------------------
    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after the log start with a timestamp >=
        ``timestamp`` (ListOffsets), or None if there is none."""
        self._check_online()
        with self._local.disk_op("timestamp lookup"):
            return first_offset_at_or_after(self._local.segments, timestamp, self._log_start_offset, self._decompress)

    def offset_of_max_timestamp(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record holding the largest timestamp (ListOffsets -3)."""
        self._check_online()
        with self._local.disk_op("max timestamp lookup"):
            return offset_of_max_timestamp(self._local.segments, self._decompress)

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """OffsetForLeaderEpoch: (largest epoch <= ``epoch``, its end offset), or (-1, -1)."""
        return self.epoch_cache.end_offset_for_epoch(epoch, self._local.log_end_offset)

    # -- producer state ---------------------------------------------------------------------------
    def _replay(self, start_offset: int) -> Iterator[ReplayedBatch]:
        segments = self._local.segments
        return replay_segments(segments[self._local.segment_index(start_offset) :], start_offset)

    def load_producer_state(self, clean_shutdown: bool, now_ms: int | None = None) -> None:
        """Rebuild the producer state at load (``LogLoader`` calls it); see ``load_producer_state``
        of ``storage.log._producers``."""
        load_producer_state(
            self._producer_state, [s.base_offset for s in self._local.segments], self.size > 0,
            self._log_start_offset, self._local.log_end_offset,
            self._replay, clean_shutdown=clean_shutdown, now_ms=now_ms,
        )  # fmt: skip

    def rebuild_txn_indexes(self, from_offset: int) -> None:
        """Rebuild the ``.txnindex`` of the segment holding ``from_offset`` and of every later one from
        the log itself: after an unclean stop (``LogLoader``), or when one is found damaged."""
        self._check_online()
        rebuild_txn_indexes(self.segments, from_offset, self._producer_state, self.log_start_offset,
                            self.log_end_offset, self._replay)  # fmt: skip

    def remove_expired_producers(self, now_ms: int | None = None) -> int:
        """Forget producers idle for producer.id.expiration.ms; returns how many."""
        return len(self._producer_state.remove_expired(now_ms))

    # -- durability and lifecycle -----------------------------------------------------------------
    def flush(self, offset: int | None = None, now_ms: int | None = None) -> None:
        """fsync every segment holding data in [recovery point, ``offset``) and move the recovery point
        (blocking: ``flush_work`` splits it in two for a caller on an event loop)."""
        self._local.flush(offset, now_ms)

    def flush_work(self, offset: int | None = None) -> FlushWork | None:
        """What a flush up to ``offset`` (default: the log end) must fsync (``FlushWork.run``, any
        thread), or None; then call ``mark_flushed`` on the owner's thread."""
        return self._local.flush_work(offset)

    def mark_flushed(self, work: FlushWork, now_ms: int | None = None) -> None:
        """``work`` has run: move the recovery point (unless a truncation or going offline voided it)."""
        self._local.mark_flushed(work, now_ms)

    def epoch_checkpoint_failed(self, error: OSError) -> LogOffline:
        """A scheduled leader-epoch checkpoint write failed: the log goes offline, as a failed write
        on the caller's thread takes it."""
        return self._local.gone_offline("leader epoch checkpoint", error)

    def flush_failed(self, work: FlushWork, error: OSError) -> LogOffline:
        """``work`` failed (an fsync error: what the disk holds is unknown): the log goes offline."""
        return self._local.gone_offline("flush", error)

    def maybe_flush(self, now_ms: int | None = None) -> bool:
        """Flush if flush.ms has passed since the last flush; True if it did."""
        now = self._time_ms() if now_ms is None else now_ms
        if self._local.needs_flush(now):
            self.flush(now_ms=now)
            return True
        return False

    def needs_flush(self, now_ms: int) -> bool:
        """flush.ms has passed since the last flush and there is unflushed data."""
        return self._local.needs_flush(now_ms)

    def close(self, *, snapshot: bool = True) -> None:
        """Take a producer snapshot at the log end (so the next load replays nothing), write index
        tails and close the files (the caller flushes first for a clean shutdown). A failed snapshot
        takes the log offline, so its log dir is not marked cleanly shut down."""
        if snapshot and not self.offline:
            try:
                self._producer_state.update_map_end_offset(self._local.log_end_offset)
                self._producer_state.take_snapshot()
            except OSError as e:
                self._local.go_offline(f"producer snapshot at close failed: {e}")
        if self.offline:
            self.epoch_cache.release()
        else:
            try:
                self.epoch_cache.close()
            except OSError as e:
                self._local.go_offline(f"leader epoch checkpoint at close failed: {e}")
        self._local.close()

    def release(self) -> None:
        """Forget the log without writing anything: its directory was renamed for deletion (paths
        the log knows no longer exist), so nothing may be written there. Takes it offline."""
        self._local.release()
        self._local.go_offline("log was deleted")

    def delete(self) -> None:
        """Remove the partition directory and everything in it (the topic was deleted)."""
        self.close(snapshot=False)
        self._local.go_offline("log was deleted")
        shutil.rmtree(self.directory, ignore_errors=True)

    def __repr__(self) -> str:
        return (
            f"Log({self.name}, start={self._log_start_offset}, hw={self._high_watermark}, "
            f"end={self._local.log_end_offset}, segments={len(self._local.segments)})"
        )


def partition_dir_name(topic: str, partition: int) -> str:
    return f"{topic}-{partition}"


def parse_partition_dir(name: str) -> tuple[str, int] | None:
    """``topic-partition`` -> (topic, partition); None for other names (``-delete``, ``-future``...)."""
    topic, sep, part = name.rpartition("-")
    if not sep or not topic or not part.isdigit():
        return None
    return topic, int(part)

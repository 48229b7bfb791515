"""``LogCleaner``: log compaction (cleanup.policy=compact, or compact,delete), Kafka's way.

A log's segments split at the cleaner checkpoint (``cleaner-offset-checkpoint``, one per log dir) into
a clean section (compacted before) and a dirty one. A cleaning:

1. plans (``plan``): the cleanable range ends at the first *uncleanable* offset: the active segment's
   base, the last stable offset, and the first dirty segment whose largest timestamp is younger than
   min.compaction.lag.ms; only whole segments below it are cleaned. The log is cleaned when its dirty
   ratio (dirty bytes / cleanable bytes) exceeds min.cleanable.dirty.ratio (Kafka compares with ``>``),
   when its first dirty batch is older than max.compaction.lag.ms, or when tombstones it kept have
   reached their delete horizon (tracked in memory from the previous cleaning);
2. maps each key of the dirty section to its last offset (``storage.cleaner._records``), stopping at a
   segment boundary when the map reaches ``max_map_entries`` (Kafka's dedupe buffer);
3. rewrites every segment from the log start to the end of the mapped range, in groups of
   consecutive segments that fit one segment (segment.bytes, the offset index, int32 relative
   offsets), into one ``.cleaned`` segment per group, flushed, with the old segments' mtime;
4. swaps each group in (``Log.replace_segments``: ``.cleaned`` -> ``.swap``, old segments ->
   ``.deleted``, ``.swap`` -> final name), so a crash at any step recovers to the old or the new
   segments (``LogLoader`` deletes ``.cleaned`` files and completes ``.swap`` files);
5. moves the checkpoint to the end of the mapped range.

Record-level rules (tombstones and their delete horizon, producers' empty batches, transactions: aborted
data discarded using the ``.txnindex``, markers removed delete.retention.ms after their transaction's
data is gone) are in ``storage.cleaner._records``. Offsets never change. A cleaned segment gets the
``.txnindex`` entries of the ABORT markers it keeps.

Stepwise: ``clean_steps`` is a generator that does the work in bounded steps (about ``step_bytes``
or ``step_records`` read, or one write buffer written, each), so the log's owner (the broker's event
loop) runs it in time slices and serves clients in between; ``clean`` runs the steps at once. Every
step runs on the owner's thread, so no locking is needed: between two steps the owner may append,
roll, delete head segments (retention, DeleteRecords), close, delete or lose the log. Invariants a
paused cleaning relies on, checked after each pause (``_Watch``): appends touch only the active
segment; a segment leaves the log only by being retired (``.deleted``, still readable until purged,
then closed) or closed with the log; a segment that stays has the same bytes. When one breaks, the
cleaning abandons quietly (its ``.cleaned`` files removed, nothing else changed, no error), and the
next cleaning plans afresh. The swap itself (``Log.replace_segments``) runs inside one step and
refuses a group that is no longer consecutive.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TypeVar, cast

from protocol.records.header import read_header
from storage.cleaner._records import (
    CleanedTxns,
    CleanerStats,
    OffsetMap,
    Retention,
    clean_batch,
    map_batch,
    segment_batches,
)
from storage.config import LONG_MAX
from storage.fs import FileSystem
from storage.log.log import Log
from storage.log.segment import CLEANED_SUFFIX, INT_MAX, AppendedBatch, LogSegment

DEFAULT_MAX_MAP_ENTRIES = 4_000_000
DEFAULT_STEP_BYTES = 256 << 10
DEFAULT_STEP_RECORDS = 1000  # a few milliseconds of mapping or filtering
_WRITE_BUFFER = 1 << 20

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CleaningPlan:
    """Where a log's clean and dirty sections lie, and whether it needs cleaning."""

    first_dirty_offset: int
    first_uncleanable_offset: int  # a segment base: the end of the cleanable range
    clean_bytes: int
    dirty_bytes: int
    needs_compaction_now: bool  # max.compaction.lag.ms has passed for the first dirty batch

    @property
    def dirty_ratio(self) -> float:
        total = self.clean_bytes + self.dirty_bytes
        return self.dirty_bytes / total if total else 0.0


@dataclass(frozen=True, slots=True)
class CleaningResult:
    """A finished cleaning: the dirty range it compacted (the new checkpoint is ``end_offset``)."""

    first_dirty_offset: int
    end_offset: int
    stats: CleanerStats = field(default_factory=CleanerStats)


def _segment_ends(log: Log) -> list[int]:
    segs = log.segments
    return [segs[i + 1].base_offset for i in range(len(segs) - 1)] + [log.log_end_offset]


def plan(log: Log, checkpoint: int | None, now_ms: int) -> CleaningPlan:
    """The clean and dirty sections of ``log`` given its cleaner checkpoint (None: never cleaned)."""
    config = log.config
    segs = log.segments
    ends = _segment_ends(log)
    start = log.log_start_offset
    first_dirty = checkpoint if checkpoint is not None and start <= checkpoint <= log.log_end_offset else start
    upper = min(segs[-1].base_offset, log.last_stable_offset)
    if config.min_compaction_lag_ms > 0:
        for seg, end in zip(segs[:-1], ends, strict=False):
            if end > first_dirty and seg.largest_timestamp() > now_ms - config.min_compaction_lag_ms:
                upper = min(upper, seg.base_offset)
                break
    cleanable = [(seg, end) for seg, end in zip(segs[:-1], ends, strict=False) if end <= upper]
    end_of_range = cleanable[-1][1] if cleanable else start
    first_dirty = min(first_dirty, end_of_range)
    clean_bytes = sum(seg.size for seg, end in cleanable if end <= first_dirty)
    dirty = [seg for seg, end in cleanable if end > first_dirty]
    needs_now = False
    if dirty and config.max_compaction_lag_ms < LONG_MAX:
        first_ts = dirty[0].rolling_based_timestamp()
        first_ts = dirty[0].largest_timestamp() if first_ts is None else first_ts
        needs_now = now_ms - first_ts > config.max_compaction_lag_ms
    return CleaningPlan(first_dirty, end_of_range, clean_bytes, sum(s.size for s in dirty), needs_now)


def group_segments(segs: list[LogSegment], max_bytes: int, max_index_bytes: int) -> list[list[LogSegment]]:
    """Consecutive segments whose cleaned union fits one segment: at most ``max_bytes`` (before
    cleaning), an offset index of ``max_index_bytes``, and offsets within int32 of the first base."""
    groups: list[list[LogSegment]] = []
    i = 0
    while i < len(segs):
        group = [segs[i]]
        size, index_bytes = segs[i].size, segs[i].offset_index.entries * 8
        j = i + 1
        while j < len(segs):
            nxt = segs[j]
            last_offset = nxt.read_next_offset() - 1
            if (
                size + nxt.size > max_bytes
                or index_bytes + nxt.offset_index.entries * 8 > max_index_bytes
                or last_offset - group[0].base_offset > INT_MAX
            ):
                break
            group.append(nxt)
            size += nxt.size
            index_bytes += nxt.offset_index.entries * 8
            j += 1
        groups.append(group)
        i = j
    return groups


class _Abandoned(Exception):
    """The log changed under a paused cleaning in a way that makes its work moot (internal)."""


class _Watch:
    """What a cleaning relies on, taken when it starts, to tell after each pause whether it still holds:
    the log is online, still compacted and still in its directory, and every segment the cleaning has
    yet to read or replace is still a non-active segment of the log, open, with the size it had."""

    def __init__(self, log: Log, segments: list[LogSegment]) -> None:
        self.log = log
        self.directory = log.directory
        self.segments = {id(seg): (seg, seg.size) for seg in segments}

    def release(self, done: list[LogSegment]) -> None:
        """``done`` were swapped out by the cleaning itself: no longer its concern."""
        for seg in done:
            self.segments.pop(id(seg), None)

    def changed(self) -> bool:
        log = self.log
        if log.offline or not log.config.compact_enabled or not os.path.isdir(self.directory):
            return True
        live = {id(seg) for seg in log.segments[:-1]}
        return any(
            seg.closed or key not in live or seg.size != size for key, (seg, size) in self.segments.items()
        )  # fmt: skip

    def check(self) -> None:
        if self.changed():
            raise _Abandoned


# What a step of a cleaning yields: None (a pause), or blocking work for the driver to run (in a worker
# thread if it likes: it touches only files nobody else uses yet) before resuming the generator. If
# that work raises, the driver throws the exception into the generator, which cleans up and re-raises.
Step = Callable[[], None] | None


def run_steps(steps: Generator[Step, None, T]) -> T:
    """Run a generator of steps (``LogCleaner.clean_steps``, ``LogManager.clean_logs_steps``) to its
    end, doing any blocking work it hands over here and now."""
    failed: BaseException | None = None
    while True:
        try:
            step = next(steps) if failed is None else steps.throw(failed)
        except StopIteration as stop:
            return cast(T, stop.value)
        failed = None
        if step is not None:
            try:
                step()
            except Exception as e:
                failed = e


class LogCleaner:
    """Compacts logs; ``LogManager.clean_logs`` drives it and keeps the checkpoints.

    ``step_bytes``, ``step_records``: a cleaning pauses (``clean_steps``) when it has read about this
    many bytes or records since the last pause (records cost the time: small ones are many per byte)."""

    def __init__(
        self,
        fs: FileSystem,
        time_ms: Callable[[], int],
        *,
        max_map_entries: int = DEFAULT_MAX_MAP_ENTRIES,
        step_bytes: int = DEFAULT_STEP_BYTES,
        step_records: int = DEFAULT_STEP_RECORDS,
    ) -> None:
        self._fs = fs
        self._time_ms = time_ms
        self.max_map_entries = max_map_entries
        self.step_bytes = step_bytes
        self.step_records = step_records
        self._horizons: dict[int, int] = {}  # id(log) -> earliest delete horizon of kept tombstones

    def needs_cleaning(self, log: Log, p: CleaningPlan, now_ms: int) -> bool:
        if p.dirty_bytes > 0 and (p.needs_compaction_now or p.dirty_ratio > log.config.min_cleanable_dirty_ratio):
            return True
        horizon = self._horizons.get(id(log))
        return horizon is not None and now_ms >= horizon and p.first_uncleanable_offset > log.log_start_offset

    def clean(self, log: Log, checkpoint: int | None, now_ms: int | None = None) -> CleaningResult | None:
        """Clean ``log`` if it needs it, at once; the result (its ``end_offset`` is the new checkpoint)
        or None. Raises as ``clean_steps`` does."""
        return run_steps(self.clean_steps(log, checkpoint, now_ms))

    def clean_steps(
        self, log: Log, checkpoint: int | None, now_ms: int | None = None
    ) -> Generator[Step, None, CleaningResult | None]:
        """``clean`` in bounded steps: the generator pauses (yields) after about ``step_bytes`` or
        ``step_records`` read, after each write, after each segment it maps or reads, and before each
        swap; its value is ``clean``'s.

        Between two steps the log's owner may do anything to the log. The plan, the producers' last
        offsets and the time are taken at the start; after each pause the cleaning checks that what
        it relies on still holds (``_Watch``) and otherwise abandons quietly: it removes its
        ``.cleaned`` files, returns None and leaves the log as it is (groups swapped in before stay:
        each swap is a complete compaction of its segments). Closing the generator (``.close()``) also
        removes the ``.cleaned`` files and changes nothing else.

        Raises StorageError (the log's disk failed), OSError (writing a cleaned segment failed: the
        log is untouched) or InvalidRecordBatch (a batch on disk cannot be decoded). Each step starts
        with the check, so an error comes from a log as the cleaning found it, never from a change."""
        now = self._time_ms() if now_ms is None else now_ms
        if not log.config.compact_enabled or log.offline:
            return None
        p = plan(log, checkpoint, now)
        if not self.needs_cleaning(log, p, now):
            return None
        producers = log.producer_state.active_producers().values()
        last_data_offsets = frozenset(e.last_data_offset for e in producers if e.last_data_offset >= 0)
        cleanable = [
            (seg, end)
            for seg, end in zip(log.segments[:-1], _segment_ends(log), strict=False)
            if end <= p.first_uncleanable_offset
        ]
        watch = _Watch(log, [seg for seg, _ in cleanable])
        try:
            return (yield from self._clean(log, p, cleanable, now, last_data_offsets, watch))
        except _Abandoned:
            return None

    def _clean(
        self,
        log: Log,
        p: CleaningPlan,
        cleanable: list[tuple[LogSegment, int]],
        now: int,
        last_data_offsets: frozenset[int],
        watch: _Watch,
    ) -> Generator[Step, None, CleaningResult | None]:
        offset_map: OffsetMap = {}
        end = p.first_dirty_offset
        dirty = [seg for seg, seg_end in cleanable if seg_end > p.first_dirty_offset]
        txns = None
        if dirty:
            txns = CleanedTxns(log.collect_aborted_transactions(dirty[0].base_offset, p.first_uncleanable_offset))
        for seg, seg_end in cleanable:
            if seg_end <= p.first_dirty_offset:
                continue
            seg_map: OffsetMap = {}
            yield from self._map_segment(seg, seg_map, p.first_dirty_offset, seg_end, watch, txns)
            new_keys = sum(1 for key in seg_map if key not in offset_map)
            if offset_map and len(offset_map) + new_keys > self.max_map_entries:
                break  # the map is full: clean up to the previous segment, the rest next time
            offset_map.update(seg_map)
            end = seg_end
        stats = CleanerStats()
        retention = Retention(offset_map, now, log.config.delete_retention_ms, last_data_offsets)
        end = max(end, p.first_dirty_offset)
        to_clean = [seg for seg, seg_end in cleanable if seg_end <= end]
        watch.release([seg for seg, seg_end in cleanable if seg_end > end])
        for group in group_segments(to_clean, log.config.segment_bytes, log.config.segment_index_bytes):
            cleaned = yield from self._clean_group(log, group, retention, stats, watch)
            if not log.replace_segments(group, cleaned, now):
                cleaned.delete_files()
                return None
            watch.release(group)
            stats.segments_cleaned += len(group)
        if stats.earliest_horizon is None:
            self._horizons.pop(id(log), None)
        else:
            self._horizons[id(log)] = stats.earliest_horizon
        return CleaningResult(p.first_dirty_offset, end, stats)

    def _pause(self, watch: _Watch) -> Generator[Step, None, None]:
        yield None
        watch.check()

    def _map_segment(
        self, seg: LogSegment, offset_map: OffsetMap, start: int, stop: int, watch: _Watch, txns: CleanedTxns | None
    ) -> Generator[Step, None, None]:
        """Add the keys of the records of ``seg`` with offsets in [start, stop) to the map, pausing
        every step and at the end."""
        read = count = 0
        for header, data in segment_batches(seg):
            if header.base_offset >= stop:
                break
            read += header.size
            count += header.records_count
            map_batch(header, data, offset_map, start, stop, txns)
            if read >= self.step_bytes or count >= self.step_records:
                read = count = 0
                yield from self._pause(watch)
        yield from self._pause(watch)

    def _clean_group(
        self, log: Log, group: list[LogSegment], retention: Retention, stats: CleanerStats, watch: _Watch
    ) -> Generator[Step, None, LogSegment]:
        """Write the group's kept batches to a new ``.cleaned`` segment (flushed), pausing after each
        write, every step, after each segment and before returning; the ``.cleaned`` files go if the
        generator stops (closed, abandoned, failed) before it returns."""
        cleaned = LogSegment(
            log.directory, group[0].base_offset, log.config, self._fs, self._time_ms, new=True, suffix=CLEANED_SUFFIX
        )
        try:
            buf = bytearray()
            appended: list[AppendedBatch] = []
            txns = CleanedTxns(log.collect_aborted_transactions(group[0].base_offset, group[-1].read_next_offset()))
            for seg in group:
                read = count = 0
                for header, data in segment_batches(seg):
                    read += header.size
                    count += header.records_count
                    out = clean_batch(header, data, retention, stats, txns)
                    if out is not None:
                        kept = header if out is data else read_header(out)
                        appended.append(AppendedBatch(len(buf), len(out), kept.last_offset, kept.max_timestamp))
                        buf += out
                    flushed = len(buf) >= _WRITE_BUFFER
                    if flushed:
                        cleaned.append(buf, appended)
                        stats.bytes_written += len(buf)
                        buf, appended = bytearray(), []
                    if flushed or read >= self.step_bytes or count >= self.step_records:
                        read = count = 0
                        yield from self._pause(watch)
                yield from self._pause(watch)
            if appended:
                cleaned.append(buf, appended)
                stats.bytes_written += len(buf)
            for aborted in txns.kept_index:  # markers that stay keep their transaction index entries
                cleaned.txn_index.append(aborted)
            cleaned.on_become_inactive()
            yield cleaned.flush  # an fsync of the whole new segment: the driver may run it off the loop
            watch.check()
            mtime = max(os.stat(s.log_path).st_mtime_ns for s in group)
            os.utime(cleaned.log_path, ns=(mtime, mtime))
        except BaseException:
            cleaned.delete_files()
            raise
        return cleaned

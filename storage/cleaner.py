"""``LogCleaner``: log compaction (cleanup.policy=compact, or compact,delete), Kafka's way.

A log's segments split at the cleaner checkpoint (``cleaner-offset-checkpoint``, one per log dir) into
a clean section (compacted before) and a dirty one. A cleaning:

1. plans (``plan``): the cleanable range ends at the first *uncleanable* offset: the active segment's
   base, the last stable offset, and the first dirty segment whose largest timestamp is younger than
   min.compaction.lag.ms; only whole segments below it are cleaned. The log is cleaned when its dirty
   ratio (dirty bytes / cleanable bytes) exceeds min.cleanable.dirty.ratio (Kafka compares with ``>``),
   when its first dirty batch is older than max.compaction.lag.ms, or when tombstones it kept have
   reached their delete horizon (tracked in memory from the previous cleaning);
2. maps each key of the dirty section to its last offset (``storage._clean_records``), stopping at a
   segment boundary when the map reaches ``max_map_entries`` (Kafka's dedupe buffer);
3. rewrites every segment from the log start to the end of the mapped range, in groups of
   consecutive segments that fit one segment (segment.bytes, the offset index, int32 relative
   offsets), into one ``.cleaned`` segment per group, flushed, with the old segments' mtime;
4. swaps each group in (``Log.replace_segments``: ``.cleaned`` -> ``.swap``, old segments ->
   ``.deleted``, ``.swap`` -> final name), so a crash at any step recovers to the old or the new
   segments (``LogLoader`` deletes ``.cleaned`` files and completes ``.swap`` files);
5. moves the checkpoint to the end of the mapped range.

Record-level rules (tombstones and their delete horizon, producers' empty batches, transactions) are
in ``storage._clean_records``. Offsets never change.

Not thread-safe: a cleaning reads and replaces the log's segments, so the broker must not call the
log while it runs (it serialises it like a retention pass). Splitting it so that steps 2-3 run on a
worker thread while the log keeps appending (only the swap needs the log) is future work.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from protocol.records.header import read_header
from storage._clean_records import CleanerStats, Retention, clean_batch, map_segment, segment_batches
from storage.config import LONG_MAX
from storage.fs import FileSystem
from storage.log import Log
from storage.segment import CLEANED_SUFFIX, INT_MAX, AppendedBatch, LogSegment

DEFAULT_MAX_MAP_ENTRIES = 4_000_000
_WRITE_BUFFER = 1 << 20


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


class LogCleaner:
    """Compacts logs; ``LogManager.clean_logs`` drives it and keeps the checkpoints."""

    def __init__(
        self, fs: FileSystem, time_ms: Callable[[], int], *, max_map_entries: int = DEFAULT_MAX_MAP_ENTRIES
    ) -> None:
        self._fs = fs
        self._time_ms = time_ms
        self.max_map_entries = max_map_entries
        self._horizons: dict[int, int] = {}  # id(log) -> earliest delete horizon of kept tombstones

    def needs_cleaning(self, log: Log, p: CleaningPlan, now_ms: int) -> bool:
        if p.dirty_bytes > 0 and (p.needs_compaction_now or p.dirty_ratio > log.config.min_cleanable_dirty_ratio):
            return True
        horizon = self._horizons.get(id(log))
        return horizon is not None and now_ms >= horizon and p.first_uncleanable_offset > log.log_start_offset

    def clean(self, log: Log, checkpoint: int | None, now_ms: int | None = None) -> CleaningResult | None:
        """Clean ``log`` if it needs it; the result (its ``end_offset`` is the new checkpoint) or None.

        Raises StorageError (the log's disk failed), OSError (writing a cleaned segment failed: the
        log is untouched) or InvalidRecordBatch (a batch on disk cannot be decoded)."""
        now = self._time_ms() if now_ms is None else now_ms
        if not log.config.compact_enabled or log.offline:
            return None
        p = plan(log, checkpoint, now)
        if not self.needs_cleaning(log, p, now):
            return None
        offset_map: dict[bytes, int] = {}
        end = p.first_dirty_offset
        for seg, seg_end in zip(log.segments, _segment_ends(log), strict=False):
            if seg_end <= p.first_dirty_offset:
                continue
            if seg_end > p.first_uncleanable_offset:
                break
            seg_map: dict[bytes, int] = {}
            map_segment(seg, seg_map, p.first_dirty_offset, seg_end)
            new_keys = sum(1 for key in seg_map if key not in offset_map)
            if offset_map and len(offset_map) + new_keys > self.max_map_entries:
                break  # the map is full: clean up to the previous segment, the rest next time
            offset_map.update(seg_map)
            end = seg_end
        stats = CleanerStats()
        producers = log.producer_state.active_producers().values()
        retention = Retention(
            offset_map, now, log.config.delete_retention_ms,
            frozenset(e.last_data_offset for e in producers if e.last_data_offset >= 0),
        )  # fmt: skip
        ends = dict(zip((s.base_offset for s in log.segments), _segment_ends(log), strict=False))
        to_clean = [s for s in log.segments[:-1] if ends[s.base_offset] <= max(end, p.first_dirty_offset)]
        for group in group_segments(to_clean, log.config.segment_bytes, log.config.segment_index_bytes):
            cleaned = self._clean_group(log, group, retention, stats)
            if not log.replace_segments(group, cleaned, now):
                cleaned.delete_files()
                return None
            stats.segments_cleaned += len(group)
        if stats.earliest_horizon is None:
            self._horizons.pop(id(log), None)
        else:
            self._horizons[id(log)] = stats.earliest_horizon
        return CleaningResult(p.first_dirty_offset, max(end, p.first_dirty_offset), stats)

    def _clean_group(self, log: Log, group: list[LogSegment], retention: Retention, stats: CleanerStats) -> LogSegment:
        """Write the group's kept batches to a new ``.cleaned`` segment (flushed)."""
        cleaned = LogSegment(
            log.directory, group[0].base_offset, log.config, self._fs, self._time_ms, new=True, suffix=CLEANED_SUFFIX
        )
        try:
            buf = bytearray()
            appended: list[AppendedBatch] = []
            for seg in group:
                for header, data in segment_batches(seg):
                    out = clean_batch(header, data, retention, stats)
                    if out is None:
                        continue
                    kept = header if out is data else read_header(out)
                    appended.append(AppendedBatch(len(buf), len(out), kept.last_offset, kept.max_timestamp))
                    buf += out
                    if len(buf) >= _WRITE_BUFFER:
                        cleaned.append(buf, appended)
                        stats.bytes_written += len(buf)
                        buf, appended = bytearray(), []
            if appended:
                cleaned.append(buf, appended)
                stats.bytes_written += len(buf)
            cleaned.on_become_inactive()
            cleaned.flush()
            mtime = max(os.stat(s.log_path).st_mtime_ns for s in group)
            os.utime(cleaned.log_path, ns=(mtime, mtime))
        except BaseException:
            cleaned.delete_files()
            raise
        return cleaned

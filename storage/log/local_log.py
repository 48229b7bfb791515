"""``LocalLog``: one partition's segments on disk, as Kafka's LocalLog: roll, append bytes, read,
truncate, flush and the recovery point, and taking segments out (retention, compaction's swap).

It knows offsets only as far as segments need them: the log end offset and the recovery point (below
it everything was fsynced). The high watermark, the log start offset, producer state and leader
epochs, and every decision of when to roll or what to delete, belong to ``Log`` (``storage.log.log``)
on top of it.

Invariants:
- segment base offsets strictly increase; each segment's offsets lie in [base, next segment's base);
- the active (last) segment always exists (an empty one after a full truncation or deletion);
- ``recovery_point`` <= ``log_end_offset``;
- a failed write is rolled back by the segment; if it cannot be, the log goes offline (``LogOffline``)
  and refuses further work.

Flushing comes in two halves so that its fsyncs can run off the owner's thread: ``flush_work`` (on
the owner's thread) says what to fsync, ``FlushWork.run`` (any thread) does it, ``mark_flushed`` (the
owner's thread again) moves the recovery point, unless a truncation came in between. Likewise
``purge_work`` hands over the deletion of ``.deleted`` files. Not thread-safe otherwise: the owner
serialises every call.
"""

from __future__ import annotations

import contextlib
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from storage.config import LogConfig
from storage.errors import LogOffline
from storage.fs import FileSystem
from storage.log.results import FetchDataInfo, FileRegion, LogOffsetMetadata
from storage.log.segment import DELETED_SUFFIX, SWAP_SUFFIX, AppendedBatch, LogSegment, SegmentBroken

Records = bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class FlushWork:
    """The blocking half of a flush (Kafka's flush of a rolled segment, in the background): fsync the
    files in ``paths`` (the segments below ``upto``, and the producer snapshot of a roll) and their
    directory. ``run`` may be called from any thread: it touches files only, by name, never the log
    (a file renamed or deleted meanwhile was on its way out and needs no flush). Then the log's owner
    calls ``mark_flushed`` (or ``flush_failed``) on its own thread."""

    fs: FileSystem
    directory: str
    paths: tuple[str, ...]
    upto: int
    generation: int

    def run(self) -> None:
        for path in self.paths:
            self.fs.fsync_path(path)
        with contextlib.suppress(FileNotFoundError):
            self.fs.fsync_dir(self.directory)


class LocalLog:
    def __init__(
        self,
        directory: str,
        name: str,
        config: LogConfig,
        fs: FileSystem,
        time_ms: Callable[[], int],
        segments: list[LogSegment],
        recovery_point: int,
    ) -> None:
        self.directory = directory
        self.name = name
        self.config = config
        self._fs = fs
        self._time_ms = time_ms
        self._segments = segments
        self._bases = [s.base_offset for s in segments]
        self._log_end_offset = segments[-1].read_next_offset()
        self._recovery_point = min(recovery_point, self._log_end_offset)
        self._offline_reason: str | None = None
        self._unflushed_messages = 0
        self._last_flush_ms = time_ms()
        self._pending_deletes: list[tuple[int, LogSegment]] = []
        self._pending_files: list[tuple[int, str]] = []  # other files that go with deleted segments
        self._flush_generation = 0  # moves on every truncation: a flush planned before it is void

    # -- state ------------------------------------------------------------------------------------
    @property
    def log_end_offset(self) -> int:
        return self._log_end_offset

    @property
    def recovery_point(self) -> int:
        return self._recovery_point

    @property
    def segments(self) -> list[LogSegment]:
        """The segments themselves (the caller does not change the list)."""
        return self._segments

    @property
    def active_segment(self) -> LogSegment:
        return self._segments[-1]

    @property
    def size(self) -> int:
        return sum(s.size for s in self._segments)

    @property
    def offline_reason(self) -> str | None:
        return self._offline_reason

    def check_online(self) -> None:
        if self._offline_reason is not None:
            raise LogOffline(self.name, self._offline_reason)

    def go_offline(self, reason: str) -> None:
        self._offline_reason = reason

    @contextmanager
    def disk_op(self, what: str) -> Iterator[None]:
        """Turn OS errors into StorageError; a half-done change that cannot be undone takes us offline."""
        self.check_online()
        try:
            yield
        except (SegmentBroken, OSError) as e:
            raise self.gone_offline(what, e) from e

    def gone_offline(self, what: str, e: SegmentBroken | OSError) -> LogOffline:
        """Record why the log is offline after ``e``; the LogOffline to raise."""
        self._offline_reason = str(e) if isinstance(e, SegmentBroken) else f"{what} failed: {e}"
        return LogOffline(self.name, self._offline_reason)

    def segment_index(self, offset: int) -> int:
        """The position in ``segments`` of the segment that holds (or would hold) ``offset``."""
        return max(0, bisect_right(self._bases, offset) - 1)

    def segment_end(self, i: int) -> int:
        return self._bases[i + 1] if i + 1 < len(self._bases) else self._log_end_offset

    # -- appends and rolls ------------------------------------------------------------------------
    def append(self, buf: Records, batches: list[AppendedBatch]) -> None:
        """Append batches (offsets assigned) to the active segment; the log end moves past them."""
        self.check_online()
        try:  # ``disk_op`` written out: this is the hot path
            # A StorageError from here was rolled back: the log still serves all it acknowledged.
            self.active_segment.append(buf, batches)
        except (SegmentBroken, OSError) as e:
            raise self.gone_offline("append", e) from e
        self._log_end_offset = batches[-1].last_offset + 1

    def count_unflushed(self, count: int) -> bool:
        """Count appended records; True when flush.messages says it is time to flush."""
        self._unflushed_messages += count
        return self._unflushed_messages >= self.config.flush_messages

    def roll(self, base: int) -> LogSegment | None:
        """Start a new, empty active segment at ``base``; returns it, or None if the active segment
        is empty and already starts there. Writes the old active segment's index tails (page cache)."""
        with self.disk_op("roll"):
            active = self.active_segment
            if active.size == 0:
                if active.base_offset == base:
                    return None
                self._segments.pop()
                self._bases.pop()
                active.delete_files()
            else:
                active.on_become_inactive()
            seg = LogSegment(self.directory, base, self.config, self._fs, self._time_ms, new=True)
            self._segments.append(seg)
            self._bases.append(base)
            return seg

    # -- reads ------------------------------------------------------------------------------------
    def read(self, start_offset: int, max_bytes: int, bound: int, min_one_message: bool) -> FetchDataInfo:
        """Whole batches from the one holding ``start_offset`` (checked by the caller), all below
        ``bound``, at most ``max_bytes`` unless the first batch alone is larger and ``min_one_message``."""
        empty = FetchDataInfo(LogOffsetMetadata(start_offset))
        if start_offset >= bound:
            return empty
        with self.disk_op("read"):
            i = self.segment_index(start_offset)
            while i < len(self._segments):
                seg = self._segments[i]
                if bound >= self.segment_end(i):
                    max_position = seg.size
                else:
                    limit = seg.translate_offset(bound)
                    max_position = seg.size if limit is None else limit.position
                found = seg.read(start_offset, max_bytes, max_position, min_one_message)
                if found is None:
                    i += 1
                    continue
                position, length = found
                meta = LogOffsetMetadata(start_offset, seg.base_offset, position)
                if length == 0:
                    return FetchDataInfo(meta)
                return FetchDataInfo(meta, (FileRegion(seg.file, seg.log_path, position, length),))
        return empty

    # -- truncation -------------------------------------------------------------------------------
    def truncate_to(self, offset: int) -> None:
        """Remove every batch holding an offset >= ``offset`` (at least one segment stays)."""
        with self.disk_op("truncate"):
            self._flush_generation += 1
            while len(self._segments) > 1 and self._bases[-1] > offset:
                self._bases.pop()
                self._segments.pop().delete_files()
            self.active_segment.truncate_to(offset)
            self._log_end_offset = self.active_segment.read_next_offset()
            self._recovery_point = min(self._recovery_point, self._log_end_offset)

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Delete all data; the log restarts empty at ``offset``."""
        with self.disk_op("truncate fully"):
            self._flush_generation += 1
            for seg in self._segments:
                seg.delete_files()
            seg = LogSegment(self.directory, offset, self.config, self._fs, self._time_ms, new=True)
            self._segments = [seg]
            self._bases = [offset]
            self._log_end_offset = offset
            self._recovery_point = offset

    # -- taking segments out ----------------------------------------------------------------------
    def remove_segments(self, doomed: list[LogSegment], now: int) -> None:
        """Take ``doomed`` (not the active segment) out of the log: renamed ``.deleted`` now, deleted
        after file.delete.delay.ms (``purge_work``)."""
        with self.disk_op("delete segments"):
            for seg in doomed:
                self._segments.remove(seg)
            self._retire(doomed, now)

    def raise_recovery_point(self, offset: int) -> None:
        """Everything below ``offset`` is gone or durable (segments below the log start were deleted)."""
        self._recovery_point = max(self._recovery_point, min(offset, self._log_end_offset))

    def _retire(self, removed: list[LogSegment], now: int) -> None:
        """Segments just taken out of the list: rename them ``.deleted`` (readers in flight keep their
        open files) and delete them after file.delete.delay.ms."""
        self._bases = [s.base_offset for s in self._segments]
        for seg in removed:
            seg.change_suffix(DELETED_SUFFIX)
            self._pending_deletes.append((now + self.config.file_delete_delay_ms, seg))

    def replace_segments(self, old: list[LogSegment], new: LogSegment, now: int) -> bool:
        """See ``Log.replace_segments``."""
        self.check_online()
        if not old or old[0] not in self._segments or new.base_offset != old[0].base_offset:
            return False
        i = self._segments.index(old[0])
        if self._segments[i : i + len(old)] != old or i + len(old) >= len(self._segments):
            return False
        with self.disk_op("replace segments"):
            new.config = self.config
            new.change_suffix(SWAP_SUFFIX)
            self._fs.fsync_dir(self.directory)
            self._segments[i : i + len(old)] = [new]
            self._retire(old, now)
            new.change_suffix("")
            self._fs.fsync_dir(self.directory)
        return True

    def purge_deleted_files(self, now: int) -> None:
        work = self.purge_work(now)
        if work is not None:
            with self.disk_op("delete files"):
                work()

    def delete_files_later(self, paths: list[str], now: int) -> None:
        """Delete ``paths`` (files the log no longer uses) with the next due ``purge_work``."""
        self._pending_files += [(now + self.config.file_delete_delay_ms, path) for path in paths]

    def purge_work(self, now: int) -> Callable[[], None] | None:
        """Take the ``.deleted`` segments (and other files) whose file.delete.delay.ms has passed;
        returns the blocking deletion of their files, to run in any thread (the log no longer knows
        them), or None."""
        due = [seg for when, seg in self._pending_deletes if when <= now]
        files = [path for when, path in self._pending_files if when <= now]
        if not due and not files:
            return None
        self._pending_deletes = [(w, s) for w, s in self._pending_deletes if w > now]
        self._pending_files = [(w, p) for w, p in self._pending_files if w > now]
        fs = self._fs

        def delete() -> None:
            for seg in due:
                seg.delete_files()
            for path in files:
                fs.delete(path)

        return delete

    # -- durability -------------------------------------------------------------------------------
    def flush_work(self, offset: int | None = None, extra_paths: tuple[str, ...] = ()) -> FlushWork | None:
        """What a flush up to ``offset`` (default: the log end) must fsync, or None if nothing. Writes
        the index entries still in memory to their files first (page cache, not blocking)."""
        self.check_online()
        target = self._log_end_offset if offset is None else min(offset, self._log_end_offset)
        paths: list[str] = []
        if target > self._recovery_point:
            with self.disk_op("flush"):
                for i, seg in enumerate(self._segments):
                    if self.segment_end(i) > self._recovery_point and seg.base_offset < target:
                        seg.offset_index.flush(fsync=False)
                        seg.time_index.flush(fsync=False)
                        paths += [seg.log_path, seg.offset_index.path, seg.time_index.path]
        if not paths and not extra_paths:
            return None
        return FlushWork(self._fs, self.directory, (*paths, *extra_paths), target, self._flush_generation)

    def flush(self, offset: int | None = None, now_ms: int | None = None) -> None:
        """fsync every segment holding data in [recovery point, ``offset``) and move the recovery point."""
        work = self.flush_work(offset)
        if work is None:
            return
        with self.disk_op("flush"):
            work.run()
        self.mark_flushed(work, now_ms)

    def mark_flushed(self, work: FlushWork, now_ms: int | None = None) -> None:
        """``work`` has run: move the recovery point to its offset (unless the log was truncated, or
        went offline, since it was planned)."""
        if work.generation != self._flush_generation or self._offline_reason is not None:
            return
        if work.upto > self._recovery_point:
            self._recovery_point = min(work.upto, self._log_end_offset)
        if work.upto >= self._log_end_offset:
            self._unflushed_messages = 0
            self._last_flush_ms = self._time_ms() if now_ms is None else now_ms

    def needs_flush(self, now_ms: int) -> bool:
        """flush.ms has passed since the last flush and there is unflushed data."""
        return self._log_end_offset > self._recovery_point and now_ms - self._last_flush_ms >= self.config.flush_ms

    # -- lifecycle --------------------------------------------------------------------------------
    def release(self) -> None:
        """Let go of every file without writing (the directory was renamed away for deletion)."""
        for seg in self._segments:
            seg.release()
        for _, seg in self._pending_deletes:
            seg.release()

    def close(self) -> None:
        for seg in self._segments:
            seg.close()
        for _, seg in self._pending_deletes:
            seg.close()

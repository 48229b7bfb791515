"""``LeaderEpochCache``: which leader epoch started at which offset, kept in ``leader-epoch-checkpoint``.

Used to answer OffsetForLeaderEpoch (``end_offset_for_epoch``) and to truncate followers correctly.
Invariants: epochs and start offsets both strictly increase; every change is written to the checkpoint
file at once (epochs change rarely), except inside ``batched_writes`` (recovery), which writes once at
its end. Not thread-safe: the owning ``Log`` serialises access.

With ``write_scheduler`` set (the broker: a single worker thread, so writes land in the order they were
made) a change hands the write of a snapshot of the entries to it instead of writing (and fsyncing twice)
on the caller's thread. The file is still written whole, temp-fsync-rename-fsync, so a crash leaves the
old entries or newer ones; the old ones are what recovery already copes with (it cuts epochs past the
log end and before the log start, and re-derives them from the recovery point on), provided the owner
lets every scheduled write finish before a recovery point checkpoint moves past them (the broker's
checkpoint writes wait for the same worker). ``clear`` writes at once all the same (see there). A write
made stale by a newer one is skipped; ``close`` writes what is still pending at once; ``release`` (the
directory was renamed away) drops it.
"""

from __future__ import annotations

import os
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from storage.checkpoints import LEADER_EPOCH_CHECKPOINT, read_epoch_checkpoint, write_epoch_checkpoint
from storage.fs import FileSystem

UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1


class LeaderEpochCache:
    def __init__(self, directory: str, fs: FileSystem) -> None:
        self.path = os.path.join(directory, LEADER_EPOCH_CHECKPOINT)
        self._fs = fs
        self._entries: list[tuple[int, int]] = read_epoch_checkpoint(self.path)
        self._deferred = False
        self.write_scheduler: Callable[[Callable[[], None]], None] | None = None
        self._lock = threading.Lock()  # a scheduled write against close/release
        self._version = 0  # changes made
        self._written = 0  # the change the file holds
        self._closed = False

    @property
    def entries(self) -> list[tuple[int, int]]:
        """(epoch, start offset) pairs, oldest first."""
        return list(self._entries)

    @property
    def latest_epoch(self) -> int:
        return self._entries[-1][0] if self._entries else UNDEFINED_EPOCH

    def assign(self, epoch: int, start_offset: int) -> None:
        """Record that ``epoch`` starts at ``start_offset`` (ignored unless it is a newer epoch)."""
        if epoch < 0 or (self._entries and epoch <= self._entries[-1][0]):
            return
        # A new epoch starting at or below an older one's start replaces those entries (Kafka does too).
        self._entries = [(e, o) for e, o in self._entries if o < start_offset]
        self._entries.append((epoch, start_offset))
        self._write()

    def end_offset_for_epoch(self, epoch: int, log_end_offset: int) -> tuple[int, int]:
        """(epoch, end offset) as OffsetForLeaderEpoch answers it.

        The end offset of ``epoch`` is the start offset of the first larger epoch (the log end offset
        for the latest epoch); the epoch returned is the largest known epoch <= ``epoch``.
        Unknown or too-large epochs give (-1, -1).
        """
        if epoch == UNDEFINED_EPOCH or not self._entries:
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if epoch == self._entries[-1][0]:
            return epoch, log_end_offset
        epochs = [e for e, _ in self._entries]
        higher = bisect_right(epochs, epoch)
        if higher == len(epochs):
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if higher == 0:
            return epoch, self._entries[0][1]
        return self._entries[higher - 1][0], self._entries[higher][1]

    def epoch_for_offset(self, offset: int) -> int:
        starts = [o for _, o in self._entries]
        i = bisect_right(starts, offset) - 1
        return self._entries[i][0] if i >= 0 else UNDEFINED_EPOCH

    def truncate_from_end(self, end_offset: int) -> None:
        """Forget epochs starting at or after ``end_offset`` (the log was truncated to it)."""
        kept = [(e, o) for e, o in self._entries if o < end_offset]
        if kept != self._entries:
            self._entries = kept
            self._write()

    def truncate_from_start(self, start_offset: int) -> None:
        """The log now starts at ``start_offset``: drop older epochs, moving the last of them up to it."""
        starts = [o for _, o in self._entries]
        i = bisect_left(starts, start_offset + 1) - 1  # last entry starting at or below start_offset
        if i < 0:
            return
        kept = [(self._entries[i][0], max(self._entries[i][1], start_offset)), *self._entries[i + 1 :]]
        if kept != self._entries:
            self._entries = kept
            self._write()

    def clear(self) -> None:
        """Forget every epoch (the log was emptied); written at once even with a scheduler: a crash
        before a scheduled write would leave epochs of data that is gone, which recovery cannot tell
        from the new log's."""
        if self._entries:
            self._entries = []
            self._write(at_once=True)

    @contextmanager
    def batched_writes(self) -> Iterator[None]:
        """Changes made inside are written (and fsynced) once, when the block ends, and only if the
        entries then differ from the file's. Recovery rebuilds the cache from the log it re-validates
        (drop the epochs from the recovery point, re-assign them batch by batch): written at every step,
        that was two checkpoint writes with three fsyncs per partition for an unchanged result. A crash
        inside leaves the old file, and the next recovery derives the same entries again. On an
        exception nothing is written (the log does not open)."""
        before = list(self._entries)
        self._deferred = True
        try:
            yield
        finally:
            self._deferred = False
        if self._entries != before:
            self._write()

    def _write(self, at_once: bool = False) -> None:
        if self._deferred:
            return
        self._version += 1
        if self.write_scheduler is None or at_once:
            with self._lock:
                write_epoch_checkpoint(self._fs, self.path, self._entries)
                self._written = self._version
            return
        version, entries = self._version, list(self._entries)

        def write() -> None:
            with self._lock:
                if self._closed or version <= self._written:
                    return
                write_epoch_checkpoint(self._fs, self.path, entries)
                self._written = version

        self.write_scheduler(write)

    def close(self) -> None:
        """Write the entries now if a scheduled write has not yet; later scheduled writes do nothing."""
        with self._lock:
            if not self._closed and self._version > self._written:
                write_epoch_checkpoint(self._fs, self.path, self._entries)
                self._written = self._version
            self._closed = True

    def release(self) -> None:
        """The directory is gone (renamed for deletion): scheduled writes do nothing."""
        with self._lock:
            self._closed = True

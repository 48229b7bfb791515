"""``OpenFiles``: a bounded, process-wide pool of the open ``.log`` files of segments.

A broker with many partitions must not need a descriptor per segment: partitions, not the process's
descriptor limit, bound how many logs it holds. So a segment's ``.log`` file is opened on first use
and kept open only while it is among the ``capacity`` most recently used files of the process; past
that, the least recently used file that nobody is using is closed (and reopened by path on its next
use). Indexes hold no descriptor at all (``storage.log.index``). Kafka keeps every segment file open
and maps the indexes of active segments only; Python cannot share one mapping cheaply, and closing
idle files is what lets a 10,000-partition topic live under a 1,024-descriptor limit.

Invariants:
- a file is closed by the pool only when it is not *pinned*: every use of a descriptor that may run
  while another thread touches the pool (appends, reads, truncations, fsyncs) pins it first
  (``acquire`` ... ``release``), so a worker thread never sees its descriptor closed (or reused) under it;
- the pool may hold more than ``capacity`` files for a moment when all of them are pinned;
- ``close`` of a pinned file (a segment closed or deleted while a worker thread fsyncs it) waits for
  the last ``release``;
- ``capacity`` defaults to half the soft ``RLIMIT_NOFILE`` (at least 16): the other half is for
  sockets, the descriptors of regions being sent with ``sendfile``, checkpoints and snapshots.

Thread-safe (one lock; the open and close system calls of a miss run under it, hits are a dict move).
"""

from __future__ import annotations

import io
import resource
import threading
from collections import OrderedDict
from collections.abc import Callable

MIN_CAPACITY = 16


def default_capacity() -> int:
    """Half the soft limit on open descriptors (at least ``MIN_CAPACITY``)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return 1 << 20
    return max(MIN_CAPACITY, soft // 2)


class PooledFile:
    """One file opened on demand through an ``OpenFiles`` pool. ``opener`` opens it (by its current
    path) and may run again after the pool closed the file as idle."""

    __slots__ = ("_opener", "close_when_released", "file", "pins")

    def __init__(self, opener: Callable[[], io.FileIO]) -> None:
        self._opener = opener
        self.file: io.FileIO | None = None
        self.pins = 0
        self.close_when_released = False


class OpenFiles:
    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = default_capacity() if capacity is None else max(1, capacity)
        self._lock = threading.Lock()
        self._open: OrderedDict[PooledFile, None] = OrderedDict()
        self.opened = 0  # files opened (first uses and reopenings), for tests and metrics
        self.closed_idle = 0  # files closed to stay within capacity

    def __len__(self) -> int:
        return len(self._open)

    def acquire(self, entry: PooledFile) -> io.FileIO:
        """The entry's open file, pinned until ``release``. Raises OSError if it cannot be opened."""
        with self._lock:
            f = entry.file
            if f is not None:
                self._open.move_to_end(entry)
                entry.pins += 1
                entry.close_when_released = False
                return f
            f = entry._opener()
            entry.file = f
            entry.pins += 1
            self._open[entry] = None
            self.opened += 1
            if len(self._open) > self.capacity:
                self._close_idle()
            return f

    def release(self, entry: PooledFile) -> None:
        with self._lock:
            entry.pins -= 1
            if entry.pins or not entry.close_when_released:
                return
            f = self._forget(entry)
        if f is not None:
            f.close()

    def peek(self, entry: PooledFile) -> io.FileIO:
        """The entry's open file, not pinned: valid until the next miss of the pool (any thread). For
        the owner's thread, to hand a file to code that tolerates finding it closed later."""
        f = self.acquire(entry)
        self.release(entry)
        return f

    def _close_idle(self) -> None:
        excess = len(self._open) - self.capacity
        victims: list[PooledFile] = []
        for entry in self._open:  # least recently used first
            if len(victims) >= excess:
                break
            if not entry.pins:
                victims.append(entry)
        for entry in victims:
            f = self._forget(entry)
            if f is not None:
                f.close()
            self.closed_idle += 1

    def _forget(self, entry: PooledFile) -> io.FileIO | None:
        """Take the entry out of the pool (under the lock); its file, for the caller to close."""
        self._open.pop(entry, None)
        entry.close_when_released = False
        f, entry.file = entry.file, None
        return f

    def close(self, entry: PooledFile) -> None:
        """Close the entry's file (it may be opened again by a later ``acquire``): now, or when its
        last user releases it if it is pinned (by a worker thread's fsync, say)."""
        with self._lock:
            if entry.pins:
                entry.close_when_released = True
                return
            f = self._forget(entry)
        if f is not None:
            f.close()

    def set_capacity(self, capacity: int) -> None:
        with self._lock:
            self.capacity = max(1, capacity)
            if len(self._open) > self.capacity:
                self._close_idle()


SEGMENT_FILES = OpenFiles()

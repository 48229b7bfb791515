"""``LogSegment``: one ``.log`` file of record batches with its ``.index`` and ``.timeindex`` (and
a ``.txnindex`` once a transaction aborts in it, ``storage.log.txn_index``).

Files are named by the segment's base offset in 20 digits (``00000000000000000000.log``), as in Kafka.
The ``.log`` holds v2 record batches back to back, exactly as received (offsets already assigned).

Invariants:
- batches are whole and their offsets increase; every offset in the segment is >= ``base_offset`` and
  its distance from it fits an int32 (the indexes store relative offsets);
- ``size`` is the file's length; appends go at its end; a failed append is rolled back to the old size;
- index entries point at batch starts: (last offset of the batch, position of the batch);
- the segment holds no descriptor of its own: the ``.log`` file is opened on first use through the
  process's pool of open segment files (``storage.log.open_files``), which closes it again when it is
  idle and the pool is full; every use of the descriptor pins it, so it stays open while in use (also
  when the use runs in a worker thread, e.g. an fsync). The indexes open their files only to write.

Not thread-safe: the owning ``Log`` serialises access.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from protocol.records.header import (
    HEADER_SIZE,
    LOG_OVERHEAD,
    BatchHeader,
    InvalidRecordBatch,
    compute_crc,
    read_header,
)
from storage.config import LogConfig
from storage.errors import StorageError
from storage.fs import FileSystem
from storage.log import txn_index
from storage.log.index import CorruptIndex, OffsetIndex, TimeIndex
from storage.log.open_files import SEGMENT_FILES, OpenFiles, PooledFile

LOG_SUFFIX = ".log"
INDEX_SUFFIX = ".index"
TIME_INDEX_SUFFIX = ".timeindex"
DELETED_SUFFIX = ".deleted"
CLEANED_SUFFIX = ".cleaned"
SWAP_SUFFIX = ".swap"
INT_MAX = 0x7FFFFFFF

_SCAN = struct.Struct(">qiibIhiqq")  # header up to and including max_timestamp
_READ_CHUNK = 4096


def file_prefix(base_offset: int) -> str:
    return f"{base_offset:020d}"


class SegmentBroken(StorageError):
    """A failed append could not be rolled back: the segment's files no longer match its state."""


@dataclass(slots=True, frozen=True)
class BatchInfo:
    """What the log needs of a batch on disk, read from its header only."""

    position: int
    base_offset: int
    size: int
    last_offset: int
    max_timestamp: int
    partition_leader_epoch: int


class AppendedBatch(NamedTuple):
    """A batch about to be appended: its place in the appended bytes and its header facts (a named
    tuple: one per batch appended)."""

    position: int
    size: int
    last_offset: int
    max_timestamp: int


class LogSegment:
    def __init__(
        self,
        directory: str,
        base_offset: int,
        config: LogConfig,
        fs: FileSystem,
        time_ms: Callable[[], int],
        *,
        new: bool = False,
        suffix: str = "",
    ) -> None:
        self.directory = directory
        self.base_offset = base_offset
        self.config = config
        self._fs = fs
        self.suffix = suffix
        prefix = os.path.join(directory, file_prefix(base_offset))
        self.log_path = prefix + LOG_SUFFIX + suffix
        max_index = config.segment_index_bytes
        self.offset_index = OffsetIndex(prefix + INDEX_SUFFIX + suffix, base_offset, max_index, fs, self._rebuild)
        self.time_index = TimeIndex(prefix + TIME_INDEX_SUFFIX + suffix, base_offset, max_index, fs, self._rebuild)
        self.offset_index.position_limit = lambda: self.size
        self.txn_index = txn_index.TransactionIndex(prefix + txn_index.TXN_INDEX_SUFFIX + suffix, base_offset, fs)
        self.rebuilt_indexes = 0  # how often a damaged or missing index was rebuilt (for tests, metrics)
        self.created_ms = time_ms()
        self._files: OpenFiles = SEGMENT_FILES
        self._pooled = PooledFile(self._open_file)
        self._closed = False
        self._size = -1
        self._next_offset: int | None = None
        self._max_ts = -1
        self._offset_of_max_ts = base_offset
        self._tail_loaded = False  # _next_offset and _tail_max are known
        self._tail_max = (-1, base_offset)  # max timestamp (and its offset) of the batches after the last index entry
        self._ts_loaded = False  # _max_ts and _offset_of_max_ts are known (they need the time index)
        self._rolling_ts: int | None = None
        self._bytes_since_index = 0
        if new:
            fs.open(self.log_path, "w+b").close()  # opened again (through the pool) on first use
            self._size = 0
            self.offset_index.reset()
            self.time_index.reset()
            self._next_offset = base_offset
            self._tail_loaded = self._ts_loaded = True

    # -- files ---------------------------------------------------------------------------------
    def _open_file(self) -> io.FileIO:
        """Open the ``.log`` file by its current path, positioned at its end (the pool calls this)."""
        f = self._fs.open(self.log_path, "r+b")
        try:
            end = f.seek(0, os.SEEK_END)
        except BaseException:
            f.close()
            raise
        if self._size < 0:
            self._size = end
        return f

    @property
    def file(self) -> io.FileIO:
        """The open ``.log`` file, not pinned: the pool may close it at the next miss of any thread,
        and a reader that finds it closed reopens ``log_path`` (``FileRegion.read``)."""
        return self._files.peek(self._pooled)

    @property
    def closed(self) -> bool:
        """``close`` or ``delete_files`` was called (a file closed as idle does not count)."""
        return self._closed

    @property
    def size(self) -> int:
        if self._size < 0:
            self._files.peek(self._pooled)
        return self._size

    def _pread(self, size: int, position: int) -> bytes:
        files, pooled = self._files, self._pooled
        f = files.acquire(pooled)
        try:
            return self._fs.pread(f, size, position)
        finally:
            files.release(pooled)

    def _truncate_file(self, size: int) -> None:
        files, pooled = self._files, self._pooled
        f = files.acquire(pooled)
        try:
            self._fs.truncate(f, size)
        finally:
            files.release(pooled)
        self._size = size

    # -- state derived from the files ------------------------------------------------------------
    def _load_tail(self) -> None:
        """Find the next offset from the last offset index entry plus a short scan (the time index is
        read only when the max timestamp is first needed: ``_load_max_timestamp``)."""
        if self._tail_loaded:
            return
        last_offset, position = self.offset_index.last_entry()
        next_offset = self.base_offset if position == 0 else last_offset + 1
        max_ts, offset_of_max_ts = -1, self.base_offset
        for batch in self.batches(position):
            next_offset = batch.last_offset + 1
            if batch.max_timestamp > max_ts:
                max_ts, offset_of_max_ts = batch.max_timestamp, batch.last_offset
        self._next_offset = next_offset
        self._tail_max = (max_ts, offset_of_max_ts)
        self._tail_loaded = True

    def _load_max_timestamp(self) -> None:
        """The max timestamp: the time index's last entry, or a later batch's if larger."""
        if self._ts_loaded:
            return
        self._load_tail()
        ts, ts_offset = self.time_index.last_entry()
        if self._ts_loaded:  # reading the time index rebuilt both indexes, and the max with them
            return
        tail_ts, tail_offset = self._tail_max
        if tail_ts > ts:
            ts, ts_offset = tail_ts, tail_offset
        self._max_ts, self._offset_of_max_ts = ts, ts_offset
        self._ts_loaded = True

    def read_next_offset(self) -> int:
        """The offset after the last batch (the base offset if the segment is empty)."""
        self._load_tail()
        assert self._next_offset is not None
        return self._next_offset

    @property
    def max_timestamp(self) -> int:
        """The largest batch max timestamp in the segment, -1 if none."""
        self._load_max_timestamp()
        return self._max_ts

    @property
    def offset_of_max_timestamp(self) -> int:
        """Last offset of the (first) batch holding ``max_timestamp``."""
        self._load_max_timestamp()
        return self._offset_of_max_ts

    def largest_timestamp(self) -> int:
        """What retention.ms compares with: the max timestamp, or the file's mtime if there is none."""
        ts = self.max_timestamp
        if ts >= 0:
            return ts
        return int(os.stat(self.log_path).st_mtime * 1000)

    def rolling_based_timestamp(self) -> int | None:
        """Max timestamp of the first batch: segment.ms counts from it (Kafka's rule)."""
        if self._rolling_ts is None and self.size > 0:
            first = next(self.batches(0), None)
            if first is not None and first.max_timestamp >= 0:
                self._rolling_ts = first.max_timestamp
        return self._rolling_ts

    # -- scanning --------------------------------------------------------------------------------
    def batches(self, start: int = 0, end: int | None = None) -> Iterator[BatchInfo]:
        """Headers of the batches from byte ``start`` (a batch start) up to ``end``; stops at a torn tail."""
        limit = self.size if end is None else min(end, self.size)
        pos = start
        buf = b""
        buf_pos = start
        while pos + _SCAN.size <= limit:
            off = pos - buf_pos
            if off < 0 or off + _SCAN.size > len(buf):
                buf = self._pread(min(_READ_CHUNK, limit - pos), pos)
                buf_pos, off = pos, 0
                if len(buf) < _SCAN.size:
                    return
            base, length, epoch, _magic, _crc, _attrs, delta, _bts, max_ts = _SCAN.unpack_from(buf, off)
            size = length + LOG_OVERHEAD
            if size < HEADER_SIZE or pos + size > limit:
                return
            yield BatchInfo(pos, base, size, base + delta, max_ts, epoch)
            pos += size

    def translate_offset(self, offset: int, start_position: int = 0) -> BatchInfo | None:
        """The first batch whose last offset is >= ``offset``, or None."""
        _, position = self.offset_index.lookup(offset)
        for batch in self.batches(max(position, start_position)):
            if batch.last_offset >= offset:
                return batch
        return None

    def read(self, start_offset: int, max_size: int, max_position: int, min_one: bool) -> tuple[int, int] | None:
        """(position, length) of whole batches from the one holding ``start_offset``; None if past end.

        Only bytes below ``max_position`` (a batch boundary) are returned. Length 0 means nothing fits.
        """
        first = self.translate_offset(start_offset)
        if first is None:
            return None
        start = first.position
        if start >= max_position:
            return start, 0
        if start + max_size >= max_position:
            return start, max_position - start
        end = start
        for batch in self.batches(start, max_position):
            if batch.position + batch.size - start > max_size:
                break
            end = batch.position + batch.size
        if end == start and min_one:
            end = start + first.size
        return start, end - start

    def read_bytes(self, position: int, size: int) -> bytes:
        return self._pread(size, position)

    # -- appends -------------------------------------------------------------------------------
    def can_hold_offset(self, offset: int) -> bool:
        return 0 <= offset - self.base_offset <= INT_MAX

    def append(self, records: bytes | bytearray | memoryview, batches: list[AppendedBatch]) -> None:
        """Append whole batches (offsets assigned). On an I/O error the segment is left as before."""
        self._load_max_timestamp()
        old_size = self.size
        old_state = (self._max_ts, self._offset_of_max_ts, self._bytes_since_index, self._next_offset)
        files, pooled = self._files, self._pooled
        try:
            f = files.acquire(pooled)
            try:
                self._fs.write(f, records)
            finally:
                files.release(pooled)
            self._size = old_size + len(records)
            for batch in batches:
                self._index_batch(old_size + batch.position, batch.size, batch.last_offset, batch.max_timestamp)
            if batches:
                self._next_offset = batches[-1].last_offset + 1
        except OSError as e:
            self._max_ts, self._offset_of_max_ts, self._bytes_since_index, self._next_offset = old_state
            self._roll_back(old_size, e)
            raise StorageError(f"append to {self.log_path} failed: {e}") from e

    def _index_batch(self, position: int, size: int, last_offset: int, max_ts: int) -> None:
        if max_ts > self._max_ts:
            self._max_ts, self._offset_of_max_ts = max_ts, last_offset
        if self._rolling_ts is None and position == 0 and max_ts >= 0:
            self._rolling_ts = max_ts
        if self._bytes_since_index > self.config.index_interval_bytes:
            self.offset_index.append(last_offset, position)
            self.time_index.maybe_append(self._max_ts, self._offset_of_max_ts)
            self._bytes_since_index = 0
        self._bytes_since_index += size

    def _roll_back(self, old_size: int, cause: OSError) -> None:
        try:
            self._truncate_file(old_size)
            first_new = self._next_offset if self._next_offset is not None else self.base_offset
            self.offset_index.truncate_to(first_new)
            self.time_index.truncate_to(first_new)
        except OSError as e:
            raise SegmentBroken(f"cannot roll back {self.log_path} after '{cause}': {e}") from e

    # -- truncation and recovery -----------------------------------------------------------------
    def truncate_to(self, offset: int) -> int:
        """Remove every batch holding an offset >= ``offset``; returns the bytes removed."""
        batch = self.translate_offset(offset)
        if batch is None:
            return 0
        removed = self.size - batch.position
        self.offset_index.truncate_to(offset)
        self.txn_index.truncate_to(offset)
        self.time_index.truncate_to(offset)
        self._truncate_file(batch.position)
        self._tail_loaded = self._ts_loaded = False
        self._bytes_since_index = 0
        if batch.position == 0:
            self._rolling_ts = None
        self._load_max_timestamp()
        return removed

    def recover(self, on_batch: Callable[[BatchHeader], None] | None = None) -> int:
        """Re-validate every batch (framing, magic, CRC-32C, offsets), rebuild the indexes, cut the
        first invalid batch and everything after it. Returns the number of bytes cut."""
        self.offset_index.reset()
        self.time_index.reset()
        self._max_ts, self._offset_of_max_ts = -1, self.base_offset
        self._bytes_since_index = 0
        self._rolling_ts = None
        size = self.size
        pos = 0
        expected = self.base_offset
        while pos + HEADER_SIZE <= size:
            try:
                header = read_header(self._pread(HEADER_SIZE, pos))
            except InvalidRecordBatch:
                break
            if header.size > size - pos or header.base_offset < expected or header.last_offset_delta < 0:
                break
            if not self.can_hold_offset(header.last_offset):
                break
            data = self._pread(header.size, pos)
            if len(data) < header.size or compute_crc(data, 0, header.size) != header.crc:
                break
            self._index_batch(pos, header.size, header.last_offset, header.max_timestamp)
            if on_batch is not None:
                on_batch(header)
            expected = header.next_offset
            pos += header.size
        cut = size - pos
        if cut:
            self._truncate_file(pos)
        self._next_offset = expected
        self._tail_loaded = self._ts_loaded = True
        return cut

    def _rebuild(self, cause: CorruptIndex) -> None:
        """An index failed its sanity check or is missing: rebuild both from the log's batch headers."""
        self.rebuilt_indexes += 1
        self.offset_index.reset()
        self.time_index.reset()
        self._max_ts, self._offset_of_max_ts = -1, self.base_offset
        self._bytes_since_index = 0
        next_offset = self.base_offset
        for batch in self.batches(0):
            self._index_batch(batch.position, batch.size, batch.last_offset, batch.max_timestamp)
            next_offset = batch.last_offset + 1
        self._next_offset = next_offset
        self._tail_loaded = self._ts_loaded = True

    # -- lifecycle ------------------------------------------------------------------------------
    def on_become_inactive(self) -> None:
        """At roll: make the time index end with the segment's max timestamp, write index tails, and
        let the ``.log`` file go (as Kafka unmaps the indexes of inactive segments): only readers
        of old data open it again, through the pool."""
        self._load_max_timestamp()
        if self._max_ts >= 0:
            self.time_index.maybe_append(self._max_ts, self._offset_of_max_ts)
        self.offset_index.flush(fsync=False)
        self.time_index.flush(fsync=False)
        self._files.close(self._pooled)

    def flush(self) -> None:
        """fsync the ``.log`` file (reopened if the pool closed it: closing does not sync) and the
        indexes."""
        files, pooled = self._files, self._pooled
        f = files.acquire(pooled)
        try:
            self._fs.fsync(f)
        finally:
            files.release(pooled)
        self.offset_index.flush()
        self.time_index.flush()
        self.txn_index.flush()

    def close(self) -> None:
        try:
            if self._ts_loaded and self._max_ts >= 0:
                self.time_index.maybe_append(self._max_ts, self._offset_of_max_ts)
            self.offset_index.close()
            self.time_index.close()
            self.txn_index.close()
        finally:
            self._closed = True
            self._files.close(self._pooled)

    def release(self) -> None:
        """Let go of the file without writing anything (its directory was renamed for deletion)."""
        self._closed = True
        self._files.close(self._pooled)

    def change_suffix(self, suffix: str) -> None:
        """Rename the three files (e.g. to ``.deleted``); open descriptors stay valid for readers."""
        new_log = self.log_path[: len(self.log_path) - len(self.suffix)] + suffix
        if os.path.exists(self.log_path):
            self._fs.rename(self.log_path, new_log)
        self.log_path = new_log
        for index in (self.offset_index, self.time_index, self.txn_index):
            index.rename_to(index.path[: len(index.path) - len(self.suffix)] + suffix)
        self.suffix = suffix

    def delete_files(self) -> None:
        self._closed = True
        self._files.close(self._pooled)
        self._fs.delete(self.log_path)
        self.offset_index.delete_file()
        self.time_index.delete_file()
        self.txn_index.delete_file()

    def __repr__(self) -> str:
        return f"LogSegment({self.log_path!r}, size={self._size})"

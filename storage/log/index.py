"""Sparse segment indexes: ``OffsetIndex`` (``.index``) and ``TimeIndex`` (``.timeindex``).

On-disk formats are Kafka's, big-endian:
- ``.index``: 8-byte entries, 4-byte offset relative to the segment base offset + 4-byte file position;
- ``.timeindex``: 12-byte entries, 8-byte timestamp + 4-byte relative offset.

Design choice: the files are *grown*, not preallocated to ``segment.index.bytes`` and mmapped as Kafka
does. Python has no cheap, portable way to remap a growing mmap, and a grown file never holds a
zero-filled tail that has to be told apart from real entries after a crash, so nothing is trimmed on
roll or close. ``segment.index.bytes`` still bounds an index: when it is full the segment rolls.
Entries are kept in memory (two ``array`` columns, binary search with ``bisect``) and written to the
file in batches (on flush, roll, close, or every 4 KiB). That is safe because an index is derived data:
any prefix of a correct sparse index is a correct sparse index, and recovery rebuilds it after an
unclean stop. The entries are loaded lazily, on first use, so opening a partition reads no index.

An index holds no open descriptor: its file is opened for each batch of writes (or truncation, or
fsync) and closed again, so descriptors do not grow with partitions (one write per 4 KiB of entries,
i.e. per 2 MiB of log at the default index.interval.bytes: the open costs nothing measurable).

Invariants: keys (offsets, timestamps) strictly increase; offsets are relative to ``base_offset`` and fit
in an int32. Not thread-safe: the owning ``Log`` serialises access.
"""

from __future__ import annotations

import io
import os
import struct
import sys
from array import array
from bisect import bisect_right
from collections.abc import Callable

from storage.fs import FileSystem

_WRITE_CHUNK = 4096


class CorruptIndex(Exception):
    """The index file fails a sanity check; the owner deletes and rebuilds it."""


class _Index:
    entry_size = 8

    def __init__(
        self,
        path: str,
        base_offset: int,
        max_index_size: int,
        fs: FileSystem,
        on_corrupt: Callable[[CorruptIndex], None] | None = None,
    ) -> None:
        """``on_corrupt`` is called (with the index already emptied) when the file fails its sanity
        check or is missing; the segment rebuilds the index from its log there."""
        self.path = path
        self.on_corrupt = on_corrupt
        self.base_offset = base_offset
        self.max_entries = max(1, max_index_size // self.entry_size)
        self._fs = fs
        self._keys: array[int] = array("q")
        self._values: array[int] = array("q")
        self._loaded = False
        self._flushed_entries = 0  # entries already in the file
        self._unsynced = False  # the file changed since its last fsync

    # -- loading -------------------------------------------------------------------------------
    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        try:
            keys, values = self._read_file()
        except CorruptIndex as e:
            self._fs.delete(self.path)
            self._loaded = True
            self._keys, self._values = array("q"), array("q")
            self._flushed_entries = 0
            if self.on_corrupt is None:
                raise
            self.on_corrupt(e)
            return
        self._keys, self._values = keys, values
        self._flushed_entries = len(keys)
        self._loaded = True

    def _read_file(self) -> tuple[array[int], array[int]]:
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise CorruptIndex(f"{self.path} is missing") from None
        if len(data) % self.entry_size:
            raise CorruptIndex(f"{self.path}: size {len(data)} is not a multiple of {self.entry_size}")
        keys, values = self._decode(data)
        self._check(keys, values)
        return keys, values

    def _decode(self, data: bytes) -> tuple[array[int], array[int]]:
        raise NotImplementedError

    def _encode(self, key: int, value: int) -> bytes:
        raise NotImplementedError

    def _check(self, keys: array[int], values: array[int]) -> None:
        for i in range(1, len(keys)):
            if keys[i] <= keys[i - 1]:
                raise CorruptIndex(f"{self.path}: entry {i} does not increase")

    def sanity_check(self) -> None:
        """Load and validate the file now. Raises CorruptIndex."""
        self._ensure_loaded()

    # -- queries -------------------------------------------------------------------------------
    @property
    def entries(self) -> int:
        self._ensure_loaded()
        return len(self._keys)

    @property
    def is_full(self) -> bool:
        if not self._loaded:
            self._ensure_loaded()
        return len(self._keys) >= self.max_entries

    def _floor(self, key: int) -> int:
        """Index of the largest entry whose key is <= ``key``, or -1."""
        self._ensure_loaded()
        return bisect_right(self._keys, key) - 1

    # -- changes -------------------------------------------------------------------------------
    def _append(self, key: int, value: int) -> None:
        self._ensure_loaded()
        self._keys.append(key)
        self._values.append(value)
        if (len(self._keys) - self._flushed_entries) * self.entry_size >= _WRITE_CHUNK:
            self._write_pending()

    def _truncate_entries(self, n: int) -> None:
        self._ensure_loaded()
        if n >= len(self._keys):
            return
        del self._keys[n:]
        del self._values[n:]
        if self._flushed_entries > n:
            with self._open() as f:
                self._fs.truncate(f, n * self.entry_size)
            self._flushed_entries = n
            self._unsynced = True

    def reset(self) -> None:
        """Remove every entry (the file becomes empty)."""
        self._loaded = True
        self._keys = array("q")
        self._values = array("q")
        self._fs.open(self.path, "w+b").close()  # created empty, or emptied
        self._flushed_entries = 0
        self._unsynced = True

    def _open(self) -> io.FileIO:
        """The file, opened for a write (created if missing); the caller closes it."""
        try:
            return self._fs.open(self.path, "r+b")
        except FileNotFoundError:
            return self._fs.open(self.path, "w+b")

    def _write_pending(self, fsync: bool = False) -> None:
        n = len(self._keys)
        fsync = fsync and (self._unsynced or n > self._flushed_entries)
        if n == self._flushed_entries and not fsync:
            return
        data = b"".join(self._encode(self._keys[i], self._values[i]) for i in range(self._flushed_entries, n))
        with self._open() as f:
            if data:
                f.seek(self._flushed_entries * self.entry_size)
                self._fs.write(f, data)
                self._unsynced = True
            if fsync:
                self._fs.fsync(f)
                self._unsynced = False
        self._flushed_entries = n

    def flush(self, fsync: bool = True) -> None:
        """Write the pending entries; with ``fsync``, sync the file if it changed since the last sync."""
        if not self._loaded:
            return
        self._write_pending(fsync)

    def close(self) -> None:
        """Write what is pending (entries stay readable from memory)."""
        if self._loaded:
            self._write_pending()

    def rename_to(self, path: str) -> None:
        self.close()
        if os.path.exists(self.path):
            self._fs.rename(self.path, path)
        self.path = path

    def delete_file(self) -> None:
        self._fs.delete(self.path)


class OffsetIndex(_Index):
    """Maps offsets to file positions: one entry every ``index.interval.bytes`` of log."""

    entry_size = 8
    position_limit: Callable[[], int] | None = None  # the log's size: entries must point below it

    def _decode(self, data: bytes) -> tuple[array[int], array[int]]:
        raw = array("i")
        raw.frombytes(data)
        if sys.byteorder == "little":
            raw.byteswap()
        base = self.base_offset
        keys = array("q", (base + r for r in raw[0::2]))
        return keys, array("q", raw[1::2])

    def _encode(self, key: int, value: int) -> bytes:
        return struct.pack(">ii", key - self.base_offset, value)

    def _check(self, keys: array[int], values: array[int]) -> None:
        super()._check(keys, values)
        if keys and keys[0] < self.base_offset:
            raise CorruptIndex(f"{self.path}: offset {keys[0]} below base offset {self.base_offset}")
        for i in range(1, len(values)):
            if values[i] < values[i - 1]:
                raise CorruptIndex(f"{self.path}: positions go backwards at entry {i}")
        if values and self.position_limit is not None and values[-1] >= self.position_limit():
            raise CorruptIndex(f"{self.path}: position {values[-1]} is beyond the end of the log")

    def lookup(self, offset: int) -> tuple[int, int]:
        """(offset, position) of the largest entry with offset <= ``offset``; (base, 0) if none."""
        i = self._floor(offset)
        if i < 0:
            return self.base_offset, 0
        return self._keys[i], self._values[i]

    def append(self, offset: int, position: int) -> None:
        """Add an entry; ignored unless ``offset`` is above the last entry's."""
        if not self._loaded:
            self._ensure_loaded()
        keys = self._keys
        if keys and offset <= keys[-1]:
            return
        if offset - self.base_offset > 0x7FFFFFFF:
            raise ValueError(f"offset {offset} does not fit the index of segment {self.base_offset}")
        self._append(offset, position)

    def truncate_to(self, offset: int) -> None:
        """Remove entries with offset >= ``offset``."""
        self._ensure_loaded()
        self._truncate_entries(bisect_right(self._keys, offset - 1))

    def last_entry(self) -> tuple[int, int]:
        if not self.entries:
            return self.base_offset, 0
        return self._keys[-1], self._values[-1]


class TimeIndex(_Index):
    """Maps timestamps to offsets: entries only when the max timestamp so far grows."""

    entry_size = 12
    _ENTRY = struct.Struct(">qi")

    def _decode(self, data: bytes) -> tuple[array[int], array[int]]:
        keys: array[int] = array("q")
        values: array[int] = array("q")
        base = self.base_offset
        for ts, rel in self._ENTRY.iter_unpack(data):
            keys.append(ts)
            values.append(base + rel)
        return keys, values

    def _encode(self, key: int, value: int) -> bytes:
        return self._ENTRY.pack(key, value - self.base_offset)

    def _check(self, keys: array[int], values: array[int]) -> None:
        super()._check(keys, values)
        for i in range(len(values)):
            if values[i] < self.base_offset or (i and values[i] < values[i - 1]):
                raise CorruptIndex(f"{self.path}: offsets of entry {i} are out of order")

    def lookup(self, timestamp: int) -> tuple[int, int]:
        """(timestamp, offset) of the largest entry with timestamp <= ``timestamp``; (-1, base) if none."""
        i = self._floor(timestamp)
        if i < 0:
            return -1, self.base_offset
        return self._keys[i], self._values[i]

    def last_entry(self) -> tuple[int, int]:
        if not self.entries:
            return -1, self.base_offset
        return self._keys[-1], self._values[-1]

    def maybe_append(self, timestamp: int, offset: int) -> None:
        """Add (timestamp, offset) if ``timestamp`` is above the last entry's timestamp."""
        if self.entries and (timestamp <= self._keys[-1] or offset < self._values[-1]):
            return
        self._append(timestamp, offset)

    def truncate_to(self, offset: int) -> None:
        """Remove entries whose offset is >= ``offset``."""
        self._ensure_loaded()
        n = len(self._values)
        while n and self._values[n - 1] >= offset:
            n -= 1
        self._truncate_entries(n)

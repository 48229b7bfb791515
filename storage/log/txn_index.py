"""``TransactionIndex``: a segment's ``.txnindex``, the transactions aborted by markers in the segment.

Kafka's format: fixed 34-byte entries, big-endian, one per aborted transaction, in marker order::

    version int16 (0) | producer id int64 | first offset int64 | last offset int64 | last stable offset int64

``first offset`` is the transaction's first data offset (maybe in an earlier segment), ``last offset``
the offset of its ABORT marker (in this segment), ``last stable offset`` the partition's LSO right after
the marker was written. A read_committed fetch collects, segment by segment from the one it reads, the
entries overlapping the fetched range; it may stop at the first entry whose LSO reaches the range's end
(nothing aborted later can have data inside the range).

Invariants:
- entries' last offsets strictly increase (``append`` refuses otherwise: a caller's bug);
- the file is created only when the first entry is written: most segments never have one;
- the file is derived data: recovery rebuilds it from the log (``Log.rebuild_txn_indexes``), and so
  does the Log when a read finds it damaged (``CorruptTxnIndex``: a partial entry, an unknown
  version, entries out of order).

Not thread-safe: the owning segment's Log serialises access.
"""

from __future__ import annotations

import io
import os
import struct

from storage.errors import StorageError
from storage.fs import FileSystem
from storage.producer.txn import AbortedTxn

TXN_INDEX_SUFFIX = ".txnindex"
ENTRY = struct.Struct(">hqqqq")
ENTRY_SIZE = ENTRY.size  # 34
VERSION = 0


class CorruptTxnIndex(StorageError):
    """A ``.txnindex`` entry with an unknown version or offsets out of order."""


class TransactionIndex:
    def __init__(self, path: str, base_offset: int, fs: FileSystem) -> None:
        self.path = path
        self.base_offset = base_offset
        self._fs = fs
        self._entries: list[AbortedTxn] | None = None  # loaded on first use
        self._file: io.FileIO | None = None

    # -- reading -------------------------------------------------------------------------------
    @property
    def entries(self) -> list[AbortedTxn]:
        """All entries, oldest first (loaded from the file on first use)."""
        if self._entries is None:
            self._entries = self._read_file()
        return self._entries

    def _read_file(self) -> list[AbortedTxn]:
        try:
            with self._fs.open(self.path, "rb") as f:
                data = f.readall()
        except FileNotFoundError:
            return []
        if len(data) % ENTRY_SIZE:
            raise CorruptTxnIndex(f"{self.path}: {len(data)} bytes is not a whole number of {ENTRY_SIZE}-byte entries")
        out: list[AbortedTxn] = []
        for pos in range(0, len(data), ENTRY_SIZE):
            version, pid, first, last, lso = ENTRY.unpack_from(data, pos)
            if version != VERSION:
                raise CorruptTxnIndex(f"{self.path}: entry at byte {pos} has version {version}, expected {VERSION}")
            if out and last <= out[-1].last_offset:
                raise CorruptTxnIndex(f"{self.path}: entry at byte {pos} has last offset {last} out of order")
            out.append(AbortedTxn(pid, first, last, lso))
        return out

    def collect(self, fetch_offset: int, upper_bound_offset: int) -> tuple[list[AbortedTxn], bool]:
        """Entries of transactions with data in [fetch_offset, upper_bound_offset), and whether the
        search is complete (an entry's LSO reached ``upper_bound_offset``: later segments hold no
        aborted transaction overlapping the range)."""
        found = []
        for txn in self.entries:
            if txn.last_offset >= fetch_offset and txn.first_offset < upper_bound_offset:
                found.append(txn)
            if txn.last_stable_offset >= upper_bound_offset:
                return found, True
        return found, False

    # -- writing -------------------------------------------------------------------------------
    def append(self, txn: AbortedTxn) -> None:
        """Add the entry of a transaction just aborted (page cache; ``flush`` makes it durable)."""
        entries = self.entries
        if entries and txn.last_offset <= entries[-1].last_offset:
            raise ValueError(
                f"{self.path}: aborted transaction ending at {txn.last_offset} does not follow "
                f"the last entry, ending at {entries[-1].last_offset}"
            )
        data = ENTRY.pack(VERSION, txn.producer_id, txn.first_offset, txn.last_offset, txn.last_stable_offset)
        if self._file is None:
            self._file = self._fs.open(self.path, "ab")
        self._fs.write(self._file, data)
        entries.append(txn)

    def truncate_to(self, offset: int) -> None:
        """Drop the entries of markers at or above ``offset`` (the log was truncated there). A damaged
        file is left as it is: the next read rebuilds it from the (truncated) log."""
        try:
            entries = self.entries
        except CorruptTxnIndex:
            return
        keep = [t for t in entries if t.last_offset < offset]
        if len(keep) != len(entries):
            self._rewrite(keep)

    def reset(self) -> None:
        """Drop every entry and the file (before a rebuild)."""
        self._rewrite([])

    def _rewrite(self, entries: list[AbortedTxn]) -> None:
        self.close()
        if entries:
            data = b"".join(ENTRY.pack(VERSION, t.producer_id, t.first_offset, t.last_offset, t.last_stable_offset)
                            for t in entries)  # fmt: skip
            with self._fs.open(self.path, "wb") as f:
                self._fs.write(f, data)
        else:
            self._fs.delete(self.path)
        self._entries = entries

    # -- lifecycle -----------------------------------------------------------------------------
    def flush(self) -> None:
        if self._file is not None:
            self._fs.fsync(self._file)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def rename_to(self, path: str) -> None:
        self.close()
        if os.path.exists(self.path):
            self._fs.rename(self.path, path)
        self.path = path

    def delete_file(self) -> None:
        self.close()
        self._fs.delete(self.path)
        self._entries = []

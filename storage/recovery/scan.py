"""Checking a segment's ``.log`` file batch by batch, and repairing it by dropping only what is damaged.

A batch is good if its v2 header parses, its offsets do not go back, its size fits in the file and its
CRC-32C matches. After a bad batch the scan looks for the next good one, so a flipped byte costs one
batch, not the rest of the segment: first where the bad batch's own length says the next one starts,
then at the positions the segment's ``.index`` points at (batch starts written before the damage). A
candidate counts only if it is itself a good batch. Damage with no good batch after it is a torn (or
junk) tail and is cut.

``repair`` rewrites the file without the damaged byte ranges: a tail is truncated in place; a hole is
closed by copying the good ranges to ``<name>.tmp`` (fsynced) and renaming it over the segment, so a
crash leaves the old file or the new one (``LogLoader`` deletes ``.tmp`` leftovers). The caller then
drops the segment's index files, which are rebuilt from the repaired ``.log``.

Synchronous, touches only the files it is given.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from protocol.records.header import HEADER_SIZE, BatchHeader, InvalidRecordBatch, compute_crc, read_header
from storage.fs import FileSystem

INT_MAX = 0x7FFFFFFF
_COPY_CHUNK = 1 << 20
_CHUNK = 1 << 20  # the scan reads the file in pieces this large
_INDEX_ENTRY = struct.Struct(">ii")


@dataclass(frozen=True, slots=True)
class Damage:
    """``length`` bytes from ``position`` that hold no good batch; offsets from ``first_missing`` up to
    ``resumes_at`` (None: the end of the segment) may have been in them."""

    position: int
    length: int
    first_missing: int
    resumes_at: int | None
    reason: str

    @property
    def end(self) -> int:
        return self.position + self.length


@dataclass(slots=True)
class ScanResult:
    size: int
    next_offset: int  # the offset after the last good batch
    damage: list[Damage] = field(default_factory=list)

    @property
    def is_tail_only(self) -> bool:
        """Only the end of the file is bad: a truncation repairs it."""
        return len(self.damage) == 1 and self.damage[0].end == self.size


class _Reader:
    """Reads of a file served from one cached chunk of at least ``_CHUNK`` bytes."""

    def __init__(self, fs: FileSystem, f: io.FileIO, size: int) -> None:
        self._fs, self._f, self.size = fs, f, size
        self._buf = b""
        self._at = 0

    def read(self, pos: int, n: int) -> memoryview:
        """Up to ``n`` bytes at ``pos`` (fewer only at the end of the file)."""
        n = min(n, self.size - pos)
        if pos < self._at or pos + n > self._at + len(self._buf):
            self._buf = self._fs.pread(self._f, max(n, _CHUNK), pos)
            self._at = pos
        off = pos - self._at
        return memoryview(self._buf)[off : off + n]


def _check_batch(reader: _Reader, pos: int, base_offset: int, expected: int) -> BatchHeader | str:
    """The header of the batch at ``pos`` if it is good, else why it is not."""
    left = reader.size - pos
    try:
        header = read_header(reader.read(pos, HEADER_SIZE))
    except InvalidRecordBatch as e:
        return f"bad header: {e}"
    if header.size < HEADER_SIZE or header.size > left:
        return f"batch length {header.size} does not fit in the {left} bytes left"
    if header.base_offset < expected or header.last_offset_delta < 0:
        return f"offsets {header.base_offset}..{header.last_offset} go back (expected >= {expected})"
    if not 0 <= header.last_offset - base_offset <= INT_MAX or header.base_offset < base_offset:
        return f"offsets {header.base_offset}..{header.last_offset} do not belong to the segment"
    data = reader.read(pos, header.size)
    if len(data) < header.size or compute_crc(data, 0, header.size) != header.crc:
        return f"CRC mismatch in the batch of offsets {header.base_offset}..{header.last_offset}"
    return header


def _index_positions(index_path: str | None, after: int) -> list[int]:
    """Batch start positions the offset index records beyond ``after`` (candidates to resume at)."""
    if index_path is None:
        return []
    try:
        with open(index_path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    count = len(data) // _INDEX_ENTRY.size
    positions = {_INDEX_ENTRY.unpack_from(data, i * _INDEX_ENTRY.size)[1] for i in range(count)}
    return sorted(p for p in positions if p > after)


def scan_segment(
    fs: FileSystem,
    log_path: str,
    base_offset: int,
    *,
    start: int = 0,
    expected: int | None = None,
    index_path: str | None = None,
    on_batch: Callable[[BatchHeader], None] | None = None,
) -> ScanResult:
    """Check every batch from byte ``start`` (a batch start; bytes before it are trusted) to the end,
    calling ``on_batch`` with the header of each good one."""
    with fs.open(log_path, "rb") as f:
        size = fs.size(f)
        pos = start
        expected_offset = base_offset if expected is None else expected
        result = ScanResult(size, expected_offset)
        index_candidates: list[int] | None = None
        reader = _Reader(fs, f, size)
        while pos < size:
            checked = _check_batch(reader, pos, base_offset, expected_offset)
            if not isinstance(checked, str):
                header = checked
                if on_batch is not None:
                    on_batch(header)
                expected_offset = header.next_offset
                result.next_offset = expected_offset
                pos += header.size
                continue
            # Where could the next good batch start? Its own length first, then the index's entries.
            candidates: list[int] = []
            head = reader.read(pos, HEADER_SIZE)
            if len(head) >= 12:
                length = struct.unpack_from(">i", head, 8)[0]
                if length > 0 and pos + 12 + length < size:
                    candidates.append(pos + 12 + length)
            if index_candidates is None:
                index_candidates = _index_positions(index_path, start)
            candidates += [p for p in index_candidates if p > pos]
            resume = next(
                (c for c in candidates if not isinstance(_check_batch(reader, c, base_offset, expected_offset), str)),
                None,
            )
            end = size if resume is None else resume
            resumes_at = None if resume is None else read_header(reader.read(resume, HEADER_SIZE)).base_offset
            result.damage.append(Damage(pos, end - pos, expected_offset, resumes_at, checked))
            pos = end
        return result


def repair(fs: FileSystem, log_path: str, result: ScanResult) -> None:
    """Remove the damaged byte ranges of ``result`` from the file (see the module's docstring)."""
    if not result.damage:
        return
    if result.is_tail_only:
        with fs.open(log_path, "r+b") as f:
            fs.truncate(f, result.damage[0].position)
            fs.fsync(f)
        return
    tmp = log_path + ".tmp"
    keep: list[tuple[int, int]] = []
    pos = 0
    for d in result.damage:
        if d.position > pos:
            keep.append((pos, d.position))
        pos = d.end
    if pos < result.size:
        keep.append((pos, result.size))
    with fs.open(log_path, "rb") as src, fs.open(tmp, "wb") as dst:
        for begin, end in keep:
            at = begin
            while at < end:
                chunk = fs.pread(src, min(_COPY_CHUNK, end - at), at)
                if not chunk:
                    raise OSError(f"{log_path} ended at {at}, expected {end} bytes")
                fs.write(dst, chunk)
                at += len(chunk)
        fs.fsync(dst)
    fs.rename(tmp, log_path)
    fs.fsync_dir(os.path.dirname(log_path) or ".")

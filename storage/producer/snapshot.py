"""Producer state snapshot files: ``<20-digit offset>.snapshot`` in the partition directory, Kafka's format.

A snapshot at offset N holds the state of every producer after all batches below N. Layout
(big-endian), as Kafka's ProducerStateManager writes it (snapshot version 1)::

    version           int16   1
    crc               uint32  CRC-32C of every byte after this field
    producer_entries  int32 count, then per producer (46 bytes):
        producer_id               int64
        epoch                     int16
        last_sequence             int32   -1 if the producer has no data batch of this epoch
        last_offset               int64   offset of its last data record, -1 if none
        offset_delta              int32   last offset - first offset of its last batch
        timestamp                 int64   max timestamp of its last write
        coordinator_epoch         int32
        current_txn_first_offset  int64   -1 when no transaction is open

Only the last batch of each producer is kept, so after a restart duplicates are recognised for the
last batch only (as in Kafka). Files are written to ``<name>.tmp``, fsynced and renamed over, so a
reader sees either no file or a whole one; the CRC catches what the disk does later.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from pathlib import Path

import crc32c

from storage.fs import FileSystem
from storage.producer.entry import BatchMetadata, ProducerStateEntry
from storage.producer.errors import CorruptSnapshot

SNAPSHOT_SUFFIX = ".snapshot"
TEMP_SUFFIX = ".tmp"
SNAPSHOT_VERSION = 1

_HEAD = struct.Struct(">hIi")  # version, crc, entry count
_CRC_START = 6  # the CRC covers everything from the entry count on
_ENTRY = struct.Struct(">qhiqiqiq")


def snapshot_path(directory: Path, offset: int) -> Path:
    return directory / f"{offset:020d}{SNAPSHOT_SUFFIX}"


def offset_of(path: Path) -> int | None:
    """The offset a snapshot file name stands for, or None if the name is not a snapshot's."""
    name = path.name
    if not name.endswith(SNAPSHOT_SUFFIX):
        return None
    stem = name[: -len(SNAPSHOT_SUFFIX)]
    return int(stem) if stem.isdigit() else None


def list_snapshots(directory: Path, remove_temp_files_with: FileSystem | None = None) -> dict[int, Path]:
    """Snapshot files of ``directory`` by offset (empty when the directory does not exist); with a
    ``FileSystem``, half-written temp files are deleted on the way. One ``scandir``: every partition
    lists its directory at load, so no ``stat`` per entry and no second listing."""
    found: dict[int, Path] = {}
    temp_suffix = SNAPSHOT_SUFFIX + TEMP_SUFFIX
    try:
        entries = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return found
    with entries:
        for entry in entries:
            name = entry.name
            if name.endswith(SNAPSHOT_SUFFIX):
                stem = name[: -len(SNAPSHOT_SUFFIX)]
                if stem.isdigit() and entry.is_file():
                    found[int(stem)] = directory / name
            elif remove_temp_files_with is not None and name.endswith(temp_suffix):
                remove_temp_files_with.delete(entry.path)
    return found


def encode_snapshot(entries: Iterable[ProducerStateEntry]) -> bytes:
    rows = [
        _ENTRY.pack(
            e.producer_id,
            e.producer_epoch,
            e.last_seq,
            e.last_data_offset,
            e.last_offset_delta,
            e.last_timestamp,
            e.coordinator_epoch,
            -1 if e.current_txn_first_offset is None else e.current_txn_first_offset,
        )
        for e in sorted(entries, key=lambda e: e.producer_id)
    ]
    buf = bytearray(_HEAD.pack(SNAPSHOT_VERSION, 0, len(rows)))
    for row in rows:
        buf += row
    struct.pack_into(">I", buf, 2, crc32c.crc32c(memoryview(buf)[_CRC_START:]))
    return bytes(buf)


def decode_snapshot(data: bytes, name: str = "snapshot") -> list[ProducerStateEntry]:
    """The entries of a snapshot file's bytes. Raises CorruptSnapshot if any check fails."""
    if len(data) < _HEAD.size:
        raise CorruptSnapshot(f"{name}: {len(data)} bytes is shorter than the {_HEAD.size}-byte head")
    version, crc, count = _HEAD.unpack_from(data)
    if version != SNAPSHOT_VERSION:
        raise CorruptSnapshot(f"{name}: unknown snapshot version {version}")
    computed = crc32c.crc32c(memoryview(data)[_CRC_START:])
    if computed != crc:
        raise CorruptSnapshot(f"{name}: CRC is {computed:#010x}, the file says {crc:#010x}")
    if count < 0 or len(data) != _HEAD.size + count * _ENTRY.size:
        raise CorruptSnapshot(f"{name}: {len(data)} bytes cannot hold {count} producer entries")
    entries = []
    for i in range(count):
        pid, epoch, seq, offset, delta, timestamp, coordinator_epoch, txn_first = _ENTRY.unpack_from(
            data, _HEAD.size + i * _ENTRY.size
        )
        entry = ProducerStateEntry(pid, epoch, coordinator_epoch, timestamp, txn_first if txn_first >= 0 else None)
        if offset >= 0:
            entry.batches.append(BatchMetadata(seq, offset, delta, timestamp))
        entries.append(entry)
    return entries


def write_snapshot(fs: FileSystem, path: Path, entries: Iterable[ProducerStateEntry], *, sync: bool = True) -> None:
    """Write a snapshot durably: temp file, fsync, rename over ``path``, fsync the directory (with
    ``sync=False`` the fsyncs are the caller's, later and off the event loop)."""
    fs.write_file_atomically(str(path), encode_snapshot(entries), sync=sync)


def read_snapshot(fs: FileSystem, path: Path) -> list[ProducerStateEntry]:
    """Read and check a snapshot file. Raises CorruptSnapshot (also for a file that vanished)."""
    try:
        with fs.open(str(path), "rb") as f:
            data = fs.pread(f, fs.size(f), 0)
    except FileNotFoundError as e:
        raise CorruptSnapshot(f"{path.name}: gone ({e})") from e
    return decode_snapshot(data, path.name)

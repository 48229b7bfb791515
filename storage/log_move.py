"""Moving a partition's log to another of the broker's log dirs (AlterReplicaLogDirs, Kafka's "future
replica").

Kafka creates a future log in the destination dir (``topic-partition.uniqueId-future``), lets a
ReplicaAlterLogDirsThread fetch into it until it has caught up, then swaps it in. Here, on one broker,
the future replica is a copy of the partition directory's files:

- ``copy_round`` (any thread, blocking) copies every file of the source directory that is new or
  changed since the previous round (size and modification time), and removes copies of files the
  source no longer has (a roll, retention, compaction). The log keeps taking appends meanwhile; a
  file copied mid-append is simply copied again next round. Segment and index files only grow or are
  replaced, so rounds shrink to the active segment's tail.
- ``LogManager.complete_move`` (the owner's thread, one step, nothing interleaves): flushes and
  closes the source log, copies what changed since the last round (the appends made during the
  copy), renames the future dir to ``topic-partition``, opens the log there as after a clean
  shutdown, renames the source dir for deletion and installs the new log. The caller removes the old
  dir off the event loop.

Invariant: until ``finish_copy`` renames the future dir, the source log is the partition's only log and is
complete; a crash before that leaves a ``-future`` dir that the next start removes (the move is
abandoned, not resumed as Kafka does). After the rename, both dirs hold every acknowledged record.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid

from storage.fs import FileSystem
from storage.log.log import Log, partition_dir_name

FUTURE_DIR_SUFFIX = "-future"
MAX_DIR_NAME = 255


def log_future_dir_name(topic: str, partition: int) -> str:
    """Kafka's name for a future replica's dir: ``topic-partition.uniqueId-future``."""
    return f"{topic}-{partition}.{uuid.uuid4().hex}{FUTURE_DIR_SUFFIX}"


def future_dir_name_fits(topic: str, partition: int) -> bool:
    """Kafka refuses to move a partition whose future dir name would pass 255 characters."""
    return len(f"{topic}-{partition}.{uuid.uuid4().hex}{FUTURE_DIR_SUFFIX}") <= MAX_DIR_NAME


class LogMove:
    """One partition's move from ``log.directory`` to ``destination_dir`` (a log dir)."""

    def __init__(self, log: Log, destination_dir: str) -> None:
        self.source = log
        self.source_path = log.directory
        self.destination_dir = destination_dir
        topic, partition = log.topic, log.partition
        self.future_path = os.path.join(destination_dir, log_future_dir_name(topic, partition))
        self.final_path = os.path.join(destination_dir, partition_dir_name(topic, partition))
        self.copied_end_offset = 0  # the copy holds every record below this (set by the mover)
        self.cancelled = False  # called off (the destination changed, the partition went away)
        self._copied: dict[str, tuple[int, int, int]] = {}  # name -> size, mtime, inode copied

    @property
    def future_size(self) -> int:
        """Bytes of the source's segments copied so far (DescribeLogDirs' size of the future replica)."""
        return sum(stamp[0] for name, stamp in self._copied.items() if name.endswith(".log"))

    def copy_round(self) -> int:
        """Copy what is new or changed since the last round; returns the bytes copied. Any thread.

        A file that only grew (same inode, larger) gets its new tail appended; any other change
        (a new inode: compaction's swap, an atomic rewrite; a shrink: truncation) a full copy."""
        os.makedirs(self.future_path, exist_ok=True)
        copied = 0
        with os.scandir(self.source_path) as entries:
            present = {e.name: e for e in entries if e.is_file()}
        for name in list(self._copied):
            if name not in present:
                del self._copied[name]
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(self.future_path, name))
        for name, entry in present.items():
            try:
                copied += self._copy_file(name, entry.path)
            except FileNotFoundError:
                continue  # deleted (retention, a roll's swap) after the scan: the next round sees it gone
        return copied

    def _copy_file(self, name: str, path: str) -> int:
        target = os.path.join(self.future_path, name)
        with open(path, "rb") as src:
            stat = os.fstat(src.fileno())
            stamp = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
            before = self._copied.get(name)
            if before == stamp:
                return 0
            if before is not None and before[2] == stamp[2] and stamp[0] > before[0]:
                src.seek(before[0])
                mode = "r+b"
            else:
                mode = "wb"
            with open(target, mode) as dst:
                if mode == "r+b":
                    dst.seek(before[0] if before else 0)
                    dst.truncate()
                shutil.copyfileobj(src, dst, 1 << 20)
                end = dst.tell()
        # The size seen at open: bytes appended during the copy are copied again next round (the same
        # bytes: they only grow), so a round never trusts a half-written tail.
        self._copied[name] = stamp
        return end - (before[0] if mode == "r+b" and before else 0)

    def finish_copy(self, fs: FileSystem) -> None:
        """Flush and close the source, copy its last changes and rename the future dir to the
        partition's dir name in the destination. The owner's thread (``LogManager.complete_move``),
        so no append interleaves. Raises OSError."""
        self.source.flush()
        self.source.close()
        self.copy_round()
        fs.fsync_dir(self.future_path)
        fs.rename(self.future_path, self.final_path)
        fs.fsync_dir(self.destination_dir)

    def abandon(self) -> None:
        """Remove the future dir (blocking; any thread)."""
        shutil.rmtree(self.future_path, ignore_errors=True)

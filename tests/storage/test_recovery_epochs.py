"""Recovery rebuilds the leader epoch cache from the log it re-validates, and writes the checkpoint
once at the end, only if it changed (it used to write and fsync it twice per partition)."""

from __future__ import annotations

import io
import os

from storage.checkpoints import read_epoch_checkpoint
from storage.fs import REAL_FS, FileSystem
from tests.storage.batches import make_batch
from tests.storage.conftest import OpenLog


class CountingFs(FileSystem):
    def __init__(self) -> None:
        self.fsyncs = 0

    def fsync(self, f: io.FileIO) -> None:
        self.fsyncs += 1
        super().fsync(f)


def test_recovery_that_changes_no_epoch_writes_no_checkpoint(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(make_batch([b"a"]), 3)
    log.append_as_leader(make_batch([b"b"]), 5)
    log.flush()
    log.close()
    path = os.path.join(log.directory, "leader-epoch-checkpoint")
    before = os.stat(path)
    fs = CountingFs()
    again = open_log(clean=False, fs=fs)
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert fs.fsyncs == 0
    assert again.epoch_cache.entries == [(3, 0), (5, 1)]
    assert again.end_offset_for_epoch(3) == (3, 1)


def test_recovery_that_cuts_a_newer_epoch_writes_the_checkpoint_without_it(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(make_batch([b"a"]), 3)
    log.append_as_leader(make_batch([b"b"]), 5)
    log.flush()
    log.close()
    segment = log.segments[-1].log_path
    with open(segment, "r+b") as f:  # tear the last batch: epoch 5 is gone with it
        f.truncate(os.path.getsize(segment) - 3)
    again = open_log(clean=False, fs=REAL_FS)
    assert again.log_end_offset == 1
    assert again.epoch_cache.entries == [(3, 0)]
    assert read_epoch_checkpoint(os.path.join(log.directory, "leader-epoch-checkpoint")) == [(3, 0)]

"""Fault injection through the filesystem seam: failed writes, full disks, failed rollbacks."""

from __future__ import annotations

import errno
import io

import pytest

from storage.errors import LogOffline, StorageError
from storage.fs import FileSystem
from tests.storage.batches import make_batch
from tests.storage.conftest import OpenLog


class FaultyFS(FileSystem):
    """Fails the next ``fail_writes`` writes to .log files, optionally after writing half the bytes."""

    def __init__(self) -> None:
        self.fail_writes = 0
        self.partial = False
        self.fail_truncate = False

    def write(self, f: io.FileIO, data: bytes | bytearray | memoryview) -> None:
        if self.fail_writes and str(f.name).endswith(".log"):
            self.fail_writes -= 1
            if self.partial:
                super().write(f, memoryview(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        super().write(f, data)

    def truncate(self, f: io.FileIO, size: int) -> None:
        if self.fail_truncate:
            raise OSError(errno.EIO, "Input/output error")
        super().truncate(f, size)


@pytest.mark.parametrize("partial", [False, True])
def test_failed_write_is_rolled_back_and_the_log_goes_on(open_log: OpenLog, partial: bool) -> None:
    fs = FaultyFS()
    log = open_log(fs=fs)
    before = make_batch([b"a", b"b"])
    log.append_as_leader(before, 0)
    fs.fail_writes, fs.partial = 1, partial
    with pytest.raises(StorageError) as raised:
        log.append_as_leader(make_batch([b"lost"]), 0)
    assert not isinstance(raised.value, LogOffline)
    assert log.log_end_offset == 2
    assert log.read(0, 1000).read_bytes()[16:] == before[16:]  # acked data intact
    assert log.active_segment.size == len(before)
    info = log.append_as_leader(make_batch([b"c"]), 0)
    assert info.first_offset == 2
    assert log.read(2, 1000).size == len(make_batch([b"c"]))


def test_unrecoverable_write_failure_takes_only_this_log_offline(open_log: OpenLog) -> None:
    fs = FaultyFS()
    log = open_log(fs=fs)
    log.append_as_leader(make_batch([b"a"]), 0)
    fs.fail_writes, fs.partial, fs.fail_truncate = 1, True, True
    with pytest.raises(LogOffline):
        log.append_as_leader(make_batch([b"b"]), 0)
    assert log.offline
    with pytest.raises(LogOffline):
        log.read(0, 100)
    with pytest.raises(LogOffline):
        log.append_as_leader(make_batch([b"c"]), 0)


def test_data_survives_a_failed_write_across_a_restart(open_log: OpenLog) -> None:
    fs = FaultyFS()
    log = open_log(fs=fs)
    log.append_as_leader(make_batch([b"a"]), 0)
    fs.fail_writes, fs.partial = 1, True
    with pytest.raises(StorageError):
        log.append_as_leader(make_batch([b"b"] * 3), 0)
    log.close()
    again = open_log(clean=False)
    assert again.log_end_offset == 1

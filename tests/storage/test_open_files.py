"""Descriptors do not grow with partitions: segment files are opened on use through a bounded pool
that closes idle ones, indexes open their files only to write, and everything still reads, appends,
flushes and restarts correctly after its file was closed as idle."""

from __future__ import annotations

import errno
import functools
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.checkpoints import MetaProperties
from storage.config import LogConfig
from storage.errors import LogOffline
from storage.fs import FileSystem
from storage.log.log import parse_partition_dir
from storage.log.open_files import SEGMENT_FILES, OpenFiles, PooledFile
from storage.manager import LogManager, NewLog
from tests.storage.batches import make_batch
from tests.storage.conftest import Clock

CAPACITY = 40
PARTITIONS = 300


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def small_pool() -> Iterator[OpenFiles]:
    old = SEGMENT_FILES.capacity
    SEGMENT_FILES.set_capacity(CAPACITY)
    try:
        yield SEGMENT_FILES
    finally:
        SEGMENT_FILES.set_capacity(old)


def manager(tmp_path: Path, clock: Clock) -> LogManager:
    m = LogManager([str(tmp_path / "logs")], meta=MetaProperties("c", 1), time_ms=clock)
    m.startup()
    return m


def create(m: LogManager, topic: str, partitions: int) -> None:
    plans = m.plan_new_logs([NewLog(topic, p, LogConfig(), leader_epoch=0) for p in range(partitions)])
    m.add_new_logs(plans, m.create_new_logs(plans))


def test_many_partitions_hold_at_most_the_pools_capacity_of_descriptors(
    tmp_path: Path, clock: Clock, small_pool: OpenFiles
) -> None:
    before = open_descriptors()
    m = manager(tmp_path, clock)
    create(m, "t", PARTITIONS)
    assert open_descriptors() - before <= 2, "creating logs leaves no file open"
    for p in range(PARTITIONS):
        log = m.get_log("t", p)
        assert log is not None
        log.append_as_leader(make_batch([f"a{p}".encode()]), 0)
    assert open_descriptors() - before <= CAPACITY + 2
    assert small_pool.closed_idle >= PARTITIONS - CAPACITY
    # Every partition appends and reads again, though most of their files were closed as idle.
    for p in range(PARTITIONS):
        log = m.get_log("t", p)
        assert log is not None
        log.append_as_leader(make_batch([f"b{p}".encode()]), 0)
        log.set_high_watermark(log.log_end_offset)
        data = log.read(0, 1 << 20).read_bytes()
        assert f"a{p}".encode() in data and f"b{p}".encode() in data
    assert open_descriptors() - before <= CAPACITY + 2
    m.shutdown()
    assert open_descriptors() - before <= 2, "a shut-down manager holds no file"
    again = manager(tmp_path, clock)
    assert open_descriptors() - before <= CAPACITY + 2, "loading opens no more than the pool holds"
    for p in range(PARTITIONS):
        log = again.get_log("t", p)
        assert log is not None and log.log_end_offset == 2
        assert f"b{p}".encode() in log.read(1, 1 << 20).read_bytes()
    again.shutdown()


def test_a_region_stays_readable_after_its_file_was_closed_as_idle(
    tmp_path: Path, clock: Clock, small_pool: OpenFiles
) -> None:
    m = manager(tmp_path, clock)
    create(m, "t", CAPACITY + 5)
    first = m.get_log("t", 0)
    assert first is not None
    first.append_as_leader(make_batch([b"kept"]), 0)
    first.set_high_watermark(1)
    info = first.read(0, 1 << 20)
    (region,) = info.regions
    for p in range(1, CAPACITY + 5):  # every other partition's use pushes partition 0's file out
        log = m.get_log("t", p)
        assert log is not None
        log.append_as_leader(make_batch([b"x"]), 0)
    assert region.file.closed
    assert b"kept" in info.read_bytes()
    m.shutdown()


def test_a_flush_syncs_a_segment_whose_file_was_closed_as_idle(
    tmp_path: Path, clock: Clock, small_pool: OpenFiles
) -> None:
    m = manager(tmp_path, clock)
    create(m, "t", CAPACITY + 5)
    logs = [m.get_log("t", p) for p in range(CAPACITY + 5)]
    for log in logs:
        assert log is not None
        log.append_as_leader(make_batch([b"x"]), 0)
    first = logs[0]
    assert first is not None and first.recovery_point == 0
    first.flush()
    assert first.recovery_point == 1
    m.shutdown()


def test_a_pinned_file_is_never_closed_by_another_threads_miss(tmp_path: Path) -> None:
    pool = OpenFiles(capacity=2)
    paths = [tmp_path / f"f{i}" for i in range(6)]
    for p in paths:
        p.write_bytes(p.name.encode())
    entries = [PooledFile(functools.partial(io.FileIO, str(p), "rb")) for p in paths]
    held = pool.acquire(entries[0])

    def others() -> None:
        for e in entries[1:]:
            pool.acquire(e)
            pool.release(e)

    worker = threading.Thread(target=others)
    worker.start()
    worker.join()
    assert not held.closed and os.pread(held.fileno(), 2, 0) == b"f0"
    assert len(pool) == 2
    pool.release(entries[0])
    pool.acquire(entries[1])
    pool.release(entries[1])
    pool.acquire(entries[2])
    pool.release(entries[2])
    assert held.closed, "released, it is closed like any idle file"
    for e in entries:
        pool.close(e)


class OutOfDescriptors(FileSystem):
    """Opening files of partition ``doomed`` fails with EMFILE, and so does removing any tree (shutil's
    rmtree needs descriptors: it fails too when a process has none left)."""

    def __init__(self, doomed: str) -> None:
        self.doomed = doomed

    def open(self, path: str, mode: str) -> io.FileIO:
        if f"{os.sep}{self.doomed}{os.sep}" in path:
            raise OSError(errno.EMFILE, "Too many open files")
        return super().open(path, mode)

    def remove_tree(self, path: str) -> None:
        raise OSError(errno.EMFILE, "Too many open files")


def test_a_creation_failing_for_want_of_descriptors_leaves_no_partition_to_load(tmp_path: Path, clock: Clock) -> None:
    m = LogManager([str(tmp_path / "logs")], meta=MetaProperties("c", 1), time_ms=clock, fs=OutOfDescriptors("t-3"))
    m.startup()
    plans = m.plan_new_logs([NewLog("t", p, LogConfig()) for p in range(6)])
    with pytest.raises(LogOffline):
        m.create_new_logs(plans)
    left = os.listdir(tmp_path / "logs")
    assert not [name for name in left if parse_partition_dir(name) is not None], left
    assert any(name.endswith("-delete") for name in left), "the logs made were set aside for deletion"
    again = manager(tmp_path, clock)
    assert again.logs == {}
    assert not [name for name in os.listdir(tmp_path / "logs") if name.startswith("t-")]


def test_closing_a_pinned_file_waits_for_its_last_user(tmp_path: Path) -> None:
    pool = OpenFiles(capacity=4)
    path = tmp_path / "f"
    path.write_bytes(b"data")
    entry = PooledFile(functools.partial(io.FileIO, str(path), "rb"))
    held = pool.acquire(entry)  # e.g. a worker thread's fsync under way
    pool.close(entry)  # the segment is closed (its log deleted) meanwhile
    assert not held.closed and os.pread(held.fileno(), 4, 0) == b"data"
    pool.release(entry)
    assert held.closed and len(pool) == 0
    again = pool.acquire(entry)  # a later use opens it anew
    assert again is not held and os.pread(again.fileno(), 4, 0) == b"data"
    pool.release(entry)
    pool.close(entry)
    assert again.closed


def test_a_rolled_segment_lets_its_file_go_and_still_reads(tmp_path: Path, clock: Clock) -> None:
    m = manager(tmp_path, clock)
    create(m, "t", 1)
    log = m.get_log("t", 0)
    assert log is not None
    before = open_descriptors()
    for i in range(5):
        log.append_as_leader(make_batch([f"r{i}".encode()]), 0)
        log.roll()
    assert open_descriptors() <= before + 1, "only the active segment's file may stay open"
    log.set_high_watermark(log.log_end_offset)
    assert b"r0" in log.read(0, 1 << 20).read_bytes()
    log.flush()
    assert log.recovery_point == 5
    m.shutdown()

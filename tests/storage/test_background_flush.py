"""A roll flushes what it rolled and moves the recovery point; the blocking half of that flush, of
retention's deletions and of the checkpoints is a callable the broker runs in a worker thread, while
the log goes on serving on its own thread."""

from __future__ import annotations

import errno
import io
import os
import threading
from pathlib import Path

import pytest

from storage.checkpoints import MetaProperties, read_offset_checkpoint, write_offset_checkpoint
from storage.config import LogConfig
from storage.errors import LogOffline
from storage.fs import REAL_FS, FileSystem
from storage.log.local_log import FlushWork
from storage.log.log import Log
from storage.manager import LogManager
from tests.storage.batches import make_batch
from tests.storage.conftest import Clock, OpenLog

CONFIG = LogConfig(segment_bytes=300, index_interval_bytes=50)


class RecordingFS(FileSystem):
    """Records which files and directories were fsynced, and from which thread; can fail fsyncs."""

    def __init__(self) -> None:
        self.synced: list[tuple[str, str]] = []
        self.fail = False

    def fsync(self, f: io.FileIO) -> None:
        if self.fail:
            raise OSError(errno.EIO, "Input/output error")
        self.synced.append((str(f.name), threading.current_thread().name))
        super().fsync(f)

    def fsync_dir(self, path: str) -> None:
        self.synced.append((path + "/", threading.current_thread().name))
        super().fsync_dir(path)


def fill(log: Log, batches: int) -> None:
    for i in range(batches):
        log.append_as_leader(make_batch([bytes([i]) * 40] * 2), 0)


def test_a_roll_flushes_the_rolled_segment_and_moves_the_recovery_point(open_log: OpenLog) -> None:
    log = open_log(CONFIG)
    fill(log, 12)
    assert len(log.segments) >= 3
    assert log.recovery_point == log.active_segment.base_offset  # nothing but the active segment unflushed


def test_the_flush_of_a_roll_runs_where_the_scheduler_says(open_log: OpenLog) -> None:
    fs = RecordingFS()
    log = open_log(CONFIG, fs=fs)
    works: list[FlushWork] = []
    log.flush_scheduler = lambda owner, work: works.append(work)
    fill(log, 4)
    first_roll = log.segments[1].base_offset
    assert works and log.recovery_point == 0  # planned, not done: the append did not fsync
    assert not [name for name, _ in fs.synced if name.endswith((".log", ".index", ".snapshot"))]
    work = works[0]
    assert work.upto == first_roll
    worker = threading.Thread(target=work.run, name="flusher")
    worker.start()
    fill(log, 2)  # the log goes on meanwhile
    worker.join()
    synced = {os.path.basename(name.rstrip("/")) for name, thread in fs.synced if thread == "flusher"}
    assert {"00000000000000000000.log", "00000000000000000000.index", "00000000000000000000.timeindex"} <= synced
    assert f"{first_roll:020d}.snapshot" in synced and "topic-0" in synced  # the snapshot, the directory
    log.mark_flushed(work)
    assert log.recovery_point == first_roll


def test_a_truncation_voids_a_flush_planned_before_it(open_log: OpenLog) -> None:
    log = open_log(CONFIG)
    works: list[FlushWork] = []
    log.flush_scheduler = lambda owner, work: works.append(work)
    fill(log, 8)
    planned = works[-1]
    log.truncate_to(2)
    fill(log, 8)  # new, unflushed data above the planned offset
    planned.run()
    log.mark_flushed(planned)
    assert log.recovery_point == 0


def test_a_failed_background_fsync_takes_the_log_offline(open_log: OpenLog) -> None:
    fs = RecordingFS()
    log = open_log(CONFIG, fs=fs)
    works: list[FlushWork] = []
    log.flush_scheduler = lambda owner, work: works.append(work)
    fill(log, 4)
    fs.fail = True
    with pytest.raises(OSError) as failed:
        works[0].run()
    assert isinstance(log.flush_failed(works[0], failed.value), LogOffline)
    with pytest.raises(LogOffline):
        log.append_as_leader(make_batch([b"x"]), 0)


def test_a_flush_of_segments_deleted_meanwhile_is_harmless(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(LogConfig(segment_bytes=300, retention_ms=1000, file_delete_delay_ms=0))
    works: list[FlushWork] = []
    log.flush_scheduler = lambda owner, work: works.append(work)
    fill(log, 8)
    log.set_high_watermark(log.log_end_offset)
    clock.advance(10_000)
    assert log.delete_old_segments(clock.now + 10**9) > 0  # gone before the flush ran
    for work in works:
        work.run()
        log.mark_flushed(work)
    assert log.recovery_point <= log.log_end_offset


def test_retention_renames_at_once_and_deletes_in_the_returned_callable(tmp_path: Path, clock: Clock) -> None:
    m = LogManager([str(tmp_path)], LogConfig(segment_bytes=300, retention_ms=1000, file_delete_delay_ms=0),
                   meta=MetaProperties("c", 1), time_ms=clock)  # fmt: skip
    m.startup()
    log = m.get_or_create_log("t", 0)
    fill(log, 8)
    log.set_high_watermark(log.log_end_offset)
    clock.advance(10**9)
    assert m.cleanup_logs(purge=False) > 0
    directory = Path(log.directory)
    assert list(directory.glob("*.deleted"))  # renamed, not yet deleted
    old_snapshots = [p for p in directory.glob("*.snapshot") if int(p.name[:20]) < log.log_start_offset]
    assert old_snapshots  # they go with the segments
    purge = m.purge_work()
    assert purge is not None
    worker = threading.Thread(target=purge)
    worker.start()
    worker.join()
    assert not list(directory.glob("*.deleted"))
    assert not any(p.exists() for p in old_snapshots)
    assert m.purge_work() is None


def test_startup_writes_the_recovery_points_recovery_settled_on(tmp_path: Path, clock: Clock) -> None:
    meta = MetaProperties("c", 1)
    m = LogManager([str(tmp_path)], CONFIG, meta=meta, time_ms=clock)
    m.startup()
    log = m.get_or_create_log("t", 0)
    fill(log, 2)
    log.close()  # a crash: no checkpoint, no marker; the checkpoint claims more than the log holds
    checkpoint = str(tmp_path / "recovery-point-offset-checkpoint")
    write_offset_checkpoint(REAL_FS, checkpoint, {("t", 0): 1000})
    again = LogManager([str(tmp_path)], CONFIG, meta=meta, time_ms=clock)
    again.startup()
    assert read_offset_checkpoint(checkpoint) == {("t", 0): 4}


def test_checkpoint_work_captures_the_offsets_when_it_is_made(tmp_path: Path, clock: Clock) -> None:
    m = LogManager([str(tmp_path)], CONFIG, meta=MetaProperties("c", 1), time_ms=clock)
    m.startup()
    log = m.get_or_create_log("t", 0)
    fill(log, 1)
    log.set_high_watermark(2)
    write = m.high_watermark_checkpoint_work()
    fill(log, 1)
    log.set_high_watermark(4)
    write()
    assert read_offset_checkpoint(str(tmp_path / "replication-offset-checkpoint")) == {("t", 0): 2}


def test_the_manager_hands_every_log_its_scheduler_and_flush_ms_work(tmp_path: Path, clock: Clock) -> None:
    planned: list[tuple[Log, FlushWork]] = []
    config = LogConfig(segment_bytes=300, flush_ms=1000)
    meta = MetaProperties("c", 1)
    m = LogManager([str(tmp_path)], config, meta=meta, time_ms=clock, flush_scheduler=lambda *a: planned.append(a))
    m.startup()
    created = m.get_or_create_log("t", 0)
    fill(created, 6)
    assert planned and all(owner is created for owner, _ in planned)  # rolls: planned, not run
    m.shutdown()
    again = LogManager([str(tmp_path)], config, meta=meta, time_ms=clock, flush_scheduler=lambda *a: planned.append(a))
    again.startup()
    loaded = again.get_log("t", 0)
    assert loaded is not None
    planned.clear()
    fill(loaded, 6)
    assert planned and all(owner is loaded for owner, _ in planned)
    assert again.dirty_flush_work(clock.now) == []  # flush.ms has not passed
    clock.advance(1000)
    ((owner, work),) = again.dirty_flush_work(clock.now)
    worker = threading.Thread(target=work.run)
    worker.start()
    worker.join()
    owner.mark_flushed(work)
    assert loaded.recovery_point == loaded.log_end_offset

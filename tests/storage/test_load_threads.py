"""Loading logs side by side (num.recovery.threads.per.data.dir): the same logs, offsets and offline
partitions as loading them one by one, from every log dir."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import pytest

from storage.checkpoints import MetaProperties
from storage.config import LogConfig
from storage.fs import FileSystem
from storage.manager import LogManager, NewLog
from tests.storage.batches import make_batch
from tests.storage.conftest import Clock


def manager(tmp_path: Path, clock: Clock, threads: int) -> LogManager:
    dirs = [str(tmp_path / "d1"), str(tmp_path / "d2")]
    m = LogManager(dirs, meta=MetaProperties("c", 1), time_ms=clock, recovery_threads_per_data_dir=threads)
    m.startup()
    return m


@pytest.mark.parametrize("clean", [True, False])
def test_logs_loaded_in_threads_match_logs_loaded_one_by_one(tmp_path: Path, clock: Clock, clean: bool) -> None:
    m = manager(tmp_path, clock, 1)
    plans = m.plan_new_logs([NewLog("t", p, LogConfig(), uuid.uuid4(), leader_epoch=0) for p in range(40)])
    m.add_new_logs(plans, m.create_new_logs(plans))
    for p in range(40):
        log = m.get_log("t", p)
        assert log is not None
        for _ in range(p % 4):
            log.append_as_leader(make_batch([b"v"] * (p + 1)), 0)
        log.set_high_watermark(log.log_end_offset)
    broken = m.get_log("t", 7)
    assert broken is not None
    m.checkpoint_high_watermarks()
    if clean:
        m.shutdown()
    else:
        m.checkpoint_recovery_points()
    with open(os.path.join(broken.directory, "partition.metadata"), "w") as f:
        f.write("not a partition.metadata file")
    for threads in (4, 1):
        again = manager(tmp_path, clock, threads)
        assert again.offline_partitions == {("t", 7)}
        assert len(again.logs) == 39
        for p in range(40):
            if p == 7:
                continue
            log = again.get_log("t", p)
            assert log is not None
            assert (log.log_end_offset, log.high_watermark) == ((p % 4) * (p + 1), (p % 4) * (p + 1))
        again.shutdown()


class FailingFsync(FileSystem):
    """fsync fails for the files of partition ``doomed`` (once set)."""

    doomed: str | None = None

    def fsync(self, f: io.FileIO) -> None:
        if self.doomed is not None and f"{os.sep}{self.doomed}{os.sep}" in str(f.name):
            raise OSError(5, "Input/output error")
        super().fsync(f)


def test_a_shutdown_in_threads_marks_clean_only_the_dirs_whose_logs_all_flushed(tmp_path: Path, clock: Clock) -> None:
    dirs = [str(tmp_path / "d1"), str(tmp_path / "d2")]
    fs = FailingFsync()
    m = LogManager(dirs, meta=MetaProperties("c", 1), time_ms=clock, fs=fs, recovery_threads_per_data_dir=4)
    m.startup()
    plans = m.plan_new_logs([NewLog("t", p, LogConfig(), leader_epoch=0) for p in range(20)])
    m.add_new_logs(plans, m.create_new_logs(plans))
    for p in range(20):
        log = m.get_log("t", p)
        assert log is not None
        log.append_as_leader(make_batch([b"v"]), 0)
    doomed_dir = next(plan.log_dir for plan in plans if plan.new.partition == 5)
    fs.doomed = "t-5"
    m.shutdown()
    marked = {d for d in dirs if os.path.exists(os.path.join(d, ".kafka_cleanshutdown"))}
    assert marked == set(dirs) - {doomed_dir}
    again = manager(tmp_path, clock, 4)
    assert again.had_clean_shutdown == {d: d != doomed_dir for d in dirs}
    for p in range(20):
        log = again.get_log("t", p)
        assert log is not None and log.log_end_offset == 1
    again.shutdown()

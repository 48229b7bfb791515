"""Creating logs in three steps (plan, create in any thread, add): all or nothing, and durable files
that a restart reads back."""

from __future__ import annotations

import io
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from storage.checkpoints import MetaProperties, read_partition_metadata
from storage.config import LogConfig
from storage.errors import LogOffline, StorageError
from storage.fs import REAL_FS, FileSystem
from storage.manager import LogManager, NewLog
from tests.storage.batches import make_batch
from tests.storage.conftest import Clock


class FailingFsync(FileSystem):
    """fsync fails for files of the partitions named in ``doomed``."""

    def __init__(self, doomed: set[str]) -> None:
        self.doomed = doomed

    def fsync(self, f: io.FileIO) -> None:
        if any(f"{os.sep}{name}{os.sep}" in str(f.name) for name in self.doomed):
            raise OSError(5, "Input/output error")
        super().fsync(f)


def manager(tmp_path: Path, clock: Clock, fs: FileSystem = REAL_FS) -> LogManager:
    m = LogManager([str(tmp_path / "d1"), str(tmp_path / "d2")], meta=MetaProperties("c", 1), time_ms=clock, fs=fs)
    m.startup()
    return m


def test_logs_made_in_threads_are_added_and_survive_a_restart(tmp_path: Path, clock: Clock) -> None:
    m = manager(tmp_path, clock)
    topic_id = uuid.uuid4()
    plans = m.plan_new_logs([NewLog("t", p, LogConfig(), topic_id, leader_epoch=0) for p in range(8)])
    assert sorted({plan.log_dir for plan in plans}) == m.log_dirs  # spread over the log dirs
    assert m.get_log("t", 0) is None
    with ThreadPoolExecutor(4) as pool:
        logs = [log for chunk in pool.map(m.create_new_logs, [plans[:4], plans[4:]]) for log in chunk]
    assert m.get_log("t", 0) is None, "nothing is the manager's before add_new_logs"
    m.add_new_logs(plans, logs)
    log = m.get_log("t", 5)
    assert log is not None
    # The epoch was recorded at creation, as a leader records its epoch: OffsetForLeaderEpoch knows it.
    assert log.end_offset_for_epoch(0) == (0, 0)
    log.append_as_leader(make_batch([b"a", b"b"]), 0)
    m.shutdown()
    again = manager(tmp_path, clock)
    reloaded = again.get_log("t", 5)
    assert reloaded is not None and reloaded.log_end_offset == 2
    assert read_partition_metadata(os.path.join(reloaded.directory, "partition.metadata")) == topic_id
    assert reloaded.end_offset_for_epoch(0) == (0, 2)


def test_a_failed_creation_leaves_nothing_behind(tmp_path: Path, clock: Clock) -> None:
    m = manager(tmp_path, clock, FailingFsync({"t-2"}))
    plans = m.plan_new_logs([NewLog("t", p, LogConfig(), uuid.uuid4()) for p in range(4)])
    with pytest.raises(LogOffline):
        m.create_new_logs(plans)
    assert [p.path for p in plans if os.path.exists(p.path)] == []
    assert m.get_log("t", 0) is None


def test_planning_a_log_that_exists_is_refused(tmp_path: Path, clock: Clock) -> None:
    m = manager(tmp_path, clock)
    m.get_or_create_log("t", 0)
    with pytest.raises(StorageError, match="exists already"):
        m.plan_new_logs([NewLog("t", 0, LogConfig())])

"""Deleting partition logs (LogManager.delete_logs): Kafka's capped ``-delete`` names, all or none."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage.checkpoints import MetaProperties
from storage.errors import StorageError
from storage.fs import REAL_FS, FileSystem
from storage.manager import LogManager, log_delete_dir_name
from tests.storage.batches import make_batch


class FailingRename(FileSystem):
    """Renames of partition ``failing``'s dir fail (an I/O error)."""

    def __init__(self, failing: str) -> None:
        self.failing = failing

    def rename(self, src: str, dst: str) -> None:
        if os.path.basename(src) == self.failing:
            raise OSError(5, "Input/output error")
        super().rename(src, dst)


def manager(tmp_path: Path, fs: FileSystem = REAL_FS) -> LogManager:
    m = LogManager([str(tmp_path)], meta=MetaProperties("c", 1), fs=fs)
    m.startup()
    return m


def test_delete_dir_names_fit_in_255_characters() -> None:
    name = log_delete_dir_name("t" * 249, 12)
    assert len(name) == 255 and name.endswith("-delete") and "-12." in name
    short = log_delete_dir_name("orders", 3)
    assert short.startswith("orders-3.") and len(short) == len("orders-3.") + 32 + len("-delete")


def test_a_long_topic_is_deleted_and_stays_deleted_after_a_restart(tmp_path: Path) -> None:
    m = manager(tmp_path)
    name = "x" * 249
    for p in range(2):
        m.get_or_create_log(name, p).append_as_leader(make_batch([b"old"]), 0)
    doomed = m.delete_logs([(name, 0), (name, 1)])
    assert len(doomed) == 2 and all(os.path.basename(d).endswith("-delete") for d in doomed)
    assert m.get_log(name, 0) is None and m.get_log(name, 1) is None
    m.shutdown()
    m = manager(tmp_path)  # a crash before the dirs went: startup removes them
    assert not [n for n in os.listdir(tmp_path) if n.startswith("x")]
    assert m.get_or_create_log(name, 0).log_end_offset == 0


def test_a_failed_rename_puts_every_dir_back(tmp_path: Path) -> None:
    m = manager(tmp_path, FailingRename("t-1"))
    for p in range(3):
        m.get_or_create_log("t", p).append_as_leader(make_batch([b"kept"]), 0)
    with pytest.raises(StorageError, match="cannot delete log"):
        m.delete_logs([("t", 0), ("t", 1), ("t", 2)])
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("t-")) == ["t-0", "t-1", "t-2"]
    for p in range(3):
        log = m.get_log("t", p)
        assert log is not None and log.log_end_offset == 1
        log.append_as_leader(make_batch([b"still writable"]), 0)
    m.shutdown()

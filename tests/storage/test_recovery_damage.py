"""Recovery drops only what is damaged, logs every cut at WARN, and checks the active segment's tail on
every start (clean or not). Real files; faults through the filesystem seam."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest

from storage.config import LogConfig
from storage.errors import LogOffline
from storage.fs import REAL_FS, FileSystem
from storage.recovery.loader import LogLoader
from tests.storage.batches import make_batch
from tests.storage.conftest import Clock, OpenLog
from tests.storage.test_recovery import all_batches, write_log

CONFIG = LogConfig(segment_bytes=600, index_interval_bytes=100)


def flip(path: str, position: int) -> None:
    with open(path, "r+b") as f:
        f.seek(position)
        byte = f.read(1)[0]
        f.seek(position)
        f.write(bytes([byte ^ 0x5A]))


def test_a_flipped_byte_in_an_old_segment_costs_one_batch_and_is_logged(
    open_log: OpenLog, caplog: pytest.LogCaptureFixture
) -> None:
    log = open_log(CONFIG)
    written = write_log(log, [2] * 30)
    log.close()
    assert len(log.segments) >= 5
    second = log.segments[1]
    victim = list(second.batches(0))[2]
    flip(second.log_path, victim.position + 61 + 5)  # a record's byte: the CRC no longer matches
    with caplog.at_level(logging.WARNING):
        again = open_log(CONFIG, clean=False, recovery_point=0)
    assert all_batches(again) == [(o, b) for o, b in written if o != victim.base_offset]
    assert [s.base_offset for s in again.segments] == [s.base_offset for s in log.segments]
    warning = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert f"dropping {victim.size} damaged bytes at position {victim.position}" in warning
    assert f"offsets {victim.base_offset}..{victim.last_offset}" in warning


def test_a_damaged_length_resumes_at_the_next_indexed_batch(open_log: OpenLog) -> None:
    config = LogConfig(segment_bytes=100_000, index_interval_bytes=1)
    log = open_log(config)
    written = write_log(log, [1] * 20)
    log.close()
    seg = log.segments[0]
    victim = list(seg.batches(0))[5]
    flip(seg.log_path, victim.position + 10)  # the batch length: framing is lost from here
    again = open_log(config, clean=False, recovery_point=0)
    assert all_batches(again) == [(o, b) for o, b in written if o != victim.base_offset]


def test_a_cut_segment_in_the_middle_keeps_the_segments_after_it(
    open_log: OpenLog, caplog: pytest.LogCaptureFixture
) -> None:
    log = open_log(CONFIG)
    written = write_log(log, [2] * 30)
    log.close()
    second, third = log.segments[1], log.segments[2]
    cut_at = list(second.batches(0))[1].position
    os.truncate(second.log_path, cut_at + 7)
    with caplog.at_level(logging.WARNING):
        again = open_log(CONFIG, clean=False, recovery_point=0)
    lost = range(second.base_offset + 2, third.base_offset)
    assert all_batches(again) == [(o, b) for o, b in written if o not in lost]
    assert f"offsets {lost.start}..{lost.stop - 1} are missing" in caplog.text


@pytest.mark.parametrize("junk", [bytes(range(256)) * 3, b"\x00" * 40, "half a batch"])
def test_junk_after_a_clean_shutdown_is_cut_and_new_appends_are_readable(
    open_log: OpenLog, caplog: pytest.LogCaptureFixture, junk: bytes | str
) -> None:
    log = open_log(CONFIG)
    written = write_log(log, [2] * 7)
    log.flush()
    log.close()
    path = log.active_segment.log_path
    size = os.path.getsize(path)
    tail = make_batch([b"torn"] * 5)[:50] if isinstance(junk, str) else junk
    with open(path, "ab") as f:
        f.write(tail)
    with caplog.at_level(logging.WARNING):
        again = open_log(CONFIG, clean=True, recovery_point=log.log_end_offset)
    assert f"dropping {len(tail)} damaged bytes at position {size}" in caplog.text
    assert os.path.getsize(path) == size
    info = again.append_as_leader(make_batch([b"new"]), 0)
    assert info.first_offset == log.log_end_offset
    assert again.read(info.first_offset, 1000).size > 0
    assert all_batches(again)[:-1] == written


class FailRenameFS(FileSystem):
    def rename(self, src: str, dst: str) -> None:
        if src.endswith(".log.tmp"):
            raise OSError(errno.EIO, "Input/output error")
        super().rename(src, dst)


def test_a_crash_while_repairing_leaves_the_segment_as_it_was(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(CONFIG)
    written = write_log(log, [2] * 30)
    log.close()
    victim = list(log.segments[1].batches(0))[1]
    flip(log.segments[1].log_path, victim.position + 70)
    damaged = Path(log.segments[1].log_path).read_bytes()
    with pytest.raises(LogOffline):
        LogLoader.load(log.directory, "topic", 0, CONFIG, FailRenameFS(), clock, clean_shutdown=False)
    assert Path(log.segments[1].log_path).read_bytes() == damaged
    again = LogLoader.load(log.directory, "topic", 0, CONFIG, REAL_FS, clock, clean_shutdown=False)
    assert all_batches(again) == [(o, b) for o, b in written if o != victim.base_offset]
    assert not [n for n in os.listdir(log.directory) if n.endswith(".tmp")]


def test_damage_below_the_recovery_point_is_reported_as_such(
    open_log: OpenLog, caplog: pytest.LogCaptureFixture
) -> None:
    log = open_log(CONFIG)
    written = write_log(log, [2] * 30)
    log.close()
    second = log.segments[1]
    first_batch, *_, last_batch = list(second.batches(0))
    flip(second.log_path, first_batch.position + 61 + 3)
    recovery_point = last_batch.base_offset  # inside the segment, after the damaged batch
    with caplog.at_level(logging.WARNING):
        again = open_log(CONFIG, clean=False, recovery_point=recovery_point)
    assert all_batches(again) == [(o, b) for o, b in written if o != first_batch.base_offset]
    assert f"below the recovery point {recovery_point}: fsynced data was damaged on disk" in caplog.text

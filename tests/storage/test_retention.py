from __future__ import annotations

import os

import pytest

from storage.config import LogConfig
from storage.errors import OffsetOutOfRange
from tests.storage.batches import batch_of_size, make_batch
from tests.storage.conftest import Clock, OpenLog

HOUR = 3600 * 1000


def test_retention_ms_deletes_old_segments_but_not_above_the_hw(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(LogConfig(segment_bytes=200, retention_ms=HOUR, file_delete_delay_ms=0))
    for i in range(6):
        log.append_as_leader(make_batch([b"x" * 80], timestamps=[i * HOUR]), 0)
    assert [s.base_offset for s in log.segments] == list(range(6))
    log.set_high_watermark(3)
    now = 10 * HOUR
    assert log.delete_old_segments(now) == 3  # 0, 1, 2 are old; 3.. are above the HW
    assert log.log_start_offset == 3
    with pytest.raises(OffsetOutOfRange):
        log.read(2, 1000)
    assert log.read(3, 1000).size > 0
    assert not any(n.startswith("0000000000000000000") and n[19] in "012" for n in os.listdir(log.directory))
    log.set_high_watermark(6)
    assert log.delete_old_segments(now) == 3  # the active one too: a new empty one is rolled
    assert (log.log_start_offset, log.log_end_offset) == (6, 6)
    assert log.read(6, 1000).size == 0
    assert log.append_as_leader(make_batch([b"n"]), 0).first_offset == 6


def test_retention_ms_minus_one_keeps_everything(open_log: OpenLog) -> None:
    log = open_log(LogConfig(segment_bytes=200, retention_ms=-1))
    for i in range(3):
        log.append_as_leader(make_batch([b"x" * 80], timestamps=[i]), 0)
    log.set_high_watermark(3)
    assert log.delete_old_segments(10**15) == 0


def test_retention_bytes(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(LogConfig(segment_bytes=1000, retention_bytes=1500, file_delete_delay_ms=0))
    for _ in range(8):
        log.append_as_leader(batch_of_size(500, timestamp=clock.now), 0)
    log.set_high_watermark(log.log_end_offset)
    assert log.size == 4000
    assert log.delete_old_segments(clock.now) == 2
    assert log.size == 2000 and log.log_start_offset == 4


def test_delete_records_then_retention_drops_whole_segments(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(LogConfig(segment_bytes=200, file_delete_delay_ms=0))
    for _ in range(6):
        log.append_as_leader(make_batch([b"x" * 80], timestamps=[clock.now]), 0)
    log.set_high_watermark(6)
    log.delete_records_before(4)
    assert log.delete_old_segments(clock.now) == 4
    assert [s.base_offset for s in log.segments] == [4, 5]
    assert log.log_start_offset == 4


def test_file_delete_delay_keeps_renamed_files_until_due(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(LogConfig(segment_bytes=200, retention_ms=HOUR, file_delete_delay_ms=60_000))
    for i in range(3):
        log.append_as_leader(make_batch([b"x" * 80], timestamps=[i]), 0)
    log.set_high_watermark(3)
    region = log.read(0, 1000).regions[0]
    assert log.delete_old_segments(10 * HOUR) == 3
    deleted = [n for n in os.listdir(log.directory) if n.endswith(".deleted")]
    assert "00000000000000000000.log.deleted" in deleted
    assert region.read()  # a read in flight still gets its bytes
    log.purge_deleted_files(10 * HOUR + 60_000)
    assert not [n for n in os.listdir(log.directory) if n.endswith(".deleted")]

from __future__ import annotations

import pytest

from protocol.records.header import is_crc_valid, read_header
from storage.config import LogConfig
from storage.errors import CorruptRecord, InvalidRecord, OffsetOutOfRange, RecordTooLarge
from storage.log.log import Log
from tests.storage.batches import batch_of_size, make_batch
from tests.storage.conftest import Clock, OpenLog


def headers(data: bytes) -> list[tuple[int, int]]:
    """(base offset, last offset) of each batch in ``data``."""
    out = []
    pos = 0
    while pos < len(data):
        h = read_header(data, pos)
        assert is_crc_valid(data, pos)
        out.append((h.base_offset, h.last_offset))
        pos += h.size
    return out


def fill(log: Log, n: int, per_batch: int = 1) -> None:
    for _ in range(n):
        log.append_as_leader(make_batch([b"v"] * per_batch), leader_epoch=0)
    log.set_high_watermark(log.log_end_offset)


def test_append_assigns_offsets_and_reads_them_back(open_log: OpenLog) -> None:
    log = open_log()
    info1 = log.append_as_leader(make_batch([b"a", b"b", b"c"], base_offset=999), leader_epoch=3)
    info2 = log.append_as_leader(make_batch([b"d"] * 2 + [b"e"]) + make_batch([b"f"]), leader_epoch=3)
    assert (info1.first_offset, info1.last_offset, info1.num_messages) == (0, 2, 3)
    assert (info2.first_offset, info2.last_offset) == (3, 6)
    assert info1.log_append_time == -1
    assert log.log_end_offset == 7
    data = log.read(0, 1 << 20).read_bytes()
    assert headers(data) == [(0, 2), (3, 5), (6, 6)]
    assert read_header(data).partition_leader_epoch == 3


def test_read_mid_batch_returns_the_whole_batch_holding_the_offset(open_log: OpenLog) -> None:
    log = open_log()
    fill(log, 3, per_batch=5)
    assert headers(log.read(7, 1 << 20).read_bytes()) == [(5, 9), (10, 14)]


def test_read_bounds(open_log: OpenLog) -> None:
    log = open_log()
    fill(log, 4)
    assert log.read(4, 1000).size == 0  # at the log end: empty
    with pytest.raises(OffsetOutOfRange):
        log.read(5, 1000)
    log.set_high_watermark(2)
    assert headers(log.read(0, 1 << 20, max_offset=log.high_watermark).read_bytes()) == [(0, 0), (1, 1)]
    assert log.read(2, 1000, max_offset=2).size == 0


def test_first_batch_is_returned_whole_even_if_larger_than_max_bytes(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(batch_of_size(5000), 0)
    log.append_as_leader(batch_of_size(100), 0)
    assert log.read(0, 10).size == 5000
    assert log.read(0, 10, min_one_message=False).size == 0
    assert log.read(0, 5099).size == 5000
    assert log.read(0, 5100).size == 5100


def test_log_append_time_stamps_batches(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(LogConfig(message_timestamp_type="LogAppendTime"))
    info = log.append_as_leader(make_batch([b"a", b"b"], timestamps=[5, 6]), 0)
    assert info.log_append_time == clock.now
    assert info.max_timestamp == clock.now
    data = log.read(0, 1000).read_bytes()
    header = read_header(data)
    assert header.timestamp_type == 1 and header.max_timestamp == clock.now
    assert is_crc_valid(data)


def test_invalid_batches_are_rejected_and_nothing_is_written(open_log: OpenLog) -> None:
    log = open_log(LogConfig(max_message_bytes=500))
    good = make_batch([b"a"])
    bad_crc = bytearray(good)
    bad_crc[-1] ^= 0xFF
    with pytest.raises(CorruptRecord):
        log.append_as_leader(good + bytes(bad_crc), 0)
    with pytest.raises(CorruptRecord):
        log.append_as_leader(good[:-3], 0)
    with pytest.raises(RecordTooLarge):
        log.append_as_leader(batch_of_size(600), 0)
    wrong_count = bytearray(good)
    wrong_count[57:61] = (2).to_bytes(4, "big")
    from protocol.records.header import write_crc

    write_crc(wrong_count)
    with pytest.raises(InvalidRecord):
        log.append_as_leader(wrong_count, 0)
    assert log.log_end_offset == 0 and log.size == 0


def test_roll_on_segment_bytes(open_log: OpenLog) -> None:
    log = open_log(LogConfig(segment_bytes=1000))
    for _ in range(5):
        log.append_as_leader(batch_of_size(400), 0)
    assert [s.base_offset for s in log.segments] == [0, 2, 4]
    assert all(s.size <= 1000 for s in log.segments)
    assert headers(log.read(0, 1 << 20).read_bytes()) == [(0, 0), (1, 1)]  # one segment per read
    assert headers(log.read(2, 1 << 20).read_bytes()) == [(2, 2), (3, 3)]


def test_roll_on_segment_ms_uses_first_batch_timestamp(open_log: OpenLog) -> None:
    log = open_log(LogConfig(segment_ms=1000))
    log.append_as_leader(make_batch([b"a"], timestamps=[10_000]), 0)
    log.append_as_leader(make_batch([b"a"], timestamps=[10_900]), 0)
    assert len(log.segments) == 1
    log.append_as_leader(make_batch([b"a"], timestamps=[11_001]), 0)
    assert [s.base_offset for s in log.segments] == [0, 2]


def test_roll_when_index_is_full(open_log: OpenLog) -> None:
    log = open_log(LogConfig(segment_index_bytes=16, index_interval_bytes=1))
    for _ in range(6):
        log.append_as_leader(make_batch([b"a"]), 0)
    assert len(log.segments) > 1
    assert all(s.offset_index.entries <= 2 for s in log.segments)
    assert headers(b"".join(log.read(s.base_offset, 1 << 20).read_bytes() for s in log.segments)) == [
        (i, i) for i in range(6)
    ]


def test_truncate_to_removes_whole_batches_and_segments(open_log: OpenLog) -> None:
    log = open_log(LogConfig(segment_bytes=300))
    for _ in range(6):
        log.append_as_leader(make_batch([b"x" * 20] * 2), 0)
    log.set_high_watermark(12)
    assert log.truncate_to(7)  # batch [6, 7] goes
    assert log.log_end_offset == 6
    assert log.high_watermark == 6
    assert all(s.base_offset < 6 for s in log.segments)
    assert headers(log.read(4, 1 << 20).read_bytes())[-1] == (4, 5)
    info = log.append_as_leader(make_batch([b"n"]), 0)
    assert info.first_offset == 6
    assert not log.truncate_to(100)


def test_truncate_fully_and_start_at(open_log: OpenLog) -> None:
    log = open_log()
    fill(log, 5)
    log.truncate_fully_and_start_at(100)
    assert (log.log_start_offset, log.log_end_offset, log.high_watermark) == (100, 100, 100)
    with pytest.raises(OffsetOutOfRange):
        log.read(0, 100)
    assert log.append_as_leader(make_batch([b"a"]), 0).first_offset == 100


def test_delete_records_moves_log_start(open_log: OpenLog) -> None:
    log = open_log()
    fill(log, 10)
    log.set_high_watermark(6)
    assert log.delete_records_before(4) == 4
    with pytest.raises(OffsetOutOfRange):
        log.read(3, 100)
    assert headers(log.read(4, 100).read_bytes())[0] == (4, 4)
    with pytest.raises(OffsetOutOfRange):
        log.delete_records_before(7)  # above the HW
    assert log.delete_records_before(2) == 4  # never goes back


def test_offset_for_timestamp_is_record_exact(open_log: OpenLog) -> None:
    log = open_log(LogConfig(index_interval_bytes=1))
    log.append_as_leader(make_batch([b"a", b"b", b"c"], timestamps=[100, 300, 200]), 0)
    log.append_as_leader(make_batch([b"d", b"e"], timestamps=[400, 500]), 0)
    assert log.offset_for_timestamp(0) == (0, 100)
    assert log.offset_for_timestamp(150) == (1, 300)
    assert log.offset_for_timestamp(301) == (3, 400)
    assert log.offset_for_timestamp(450) == (4, 500)
    assert log.offset_for_timestamp(501) is None
    assert log.offset_of_max_timestamp() == (4, 500)


def test_max_timestamp_offset_is_the_record_inside_the_batch(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(make_batch([b"a", b"b", b"c"], timestamps=[100, 900, 200]), 0)
    log.append_as_leader(make_batch([b"d"], timestamps=[500]), 0)
    assert log.offset_of_max_timestamp() == (1, 900)


def test_leader_epochs_and_end_offset_for_epoch(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(make_batch([b"a"] * 3), leader_epoch=1)
    log.append_as_leader(make_batch([b"a"] * 2), leader_epoch=3)
    log.append_as_leader(make_batch([b"a"]), leader_epoch=3)
    assert log.epoch_cache.entries == [(1, 0), (3, 3)]
    assert log.end_offset_for_epoch(1) == (1, 3)
    assert log.end_offset_for_epoch(2) == (1, 3)
    assert log.end_offset_for_epoch(3) == (3, 6)
    assert log.end_offset_for_epoch(0) == (0, 0)
    assert log.end_offset_for_epoch(4) == (-1, -1)
    log.truncate_to(3)
    assert log.epoch_cache.entries == [(1, 0)]


def test_follower_append_keeps_offsets_and_epochs(open_log: OpenLog) -> None:
    log = open_log()
    data = make_batch([b"a"] * 2, base_offset=0, epoch=2) + make_batch([b"b"], base_offset=2, epoch=5)
    info = log.append_as_follower(data)
    assert (info.first_offset, info.last_offset) == (0, 2)
    assert log.read(0, 1000).read_bytes() == data
    assert log.epoch_cache.entries == [(2, 0), (5, 2)]
    from storage.errors import UnexpectedAppendOffset

    with pytest.raises(UnexpectedAppendOffset):
        log.append_as_follower(make_batch([b"c"], base_offset=1, epoch=5))


def test_flush_messages_moves_recovery_point(open_log: OpenLog) -> None:
    log = open_log(LogConfig(flush_messages=3))
    fill(log, 2)
    assert log.recovery_point == 0
    fill(log, 1)
    assert log.recovery_point == 3


def test_flush_ms(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(LogConfig(flush_ms=1000))
    fill(log, 2)
    assert not log.maybe_flush(clock.now + 999)
    assert log.maybe_flush(clock.now + 1000)
    assert log.recovery_point == 2

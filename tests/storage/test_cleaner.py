"""Log compaction: what a consumer reads after the cleaner ran, driven by a hand-held clock."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from protocol.records import Compression
from storage.checkpoints import read_offset_checkpoint
from storage.cleaner.cleaner import LogCleaner
from storage.errors import InvalidRecord
from storage.fs import REAL_FS
from storage.manager import LogManager
from storage.producer.state import OutOfOrderSequence
from tests.storage.cleaner_support import append_all, batches, compacted, keyed, latest, records, seal
from tests.storage.conftest import Clock, OpenLog

DAY = 86_400_000


def overwrites(keys: int, rounds: int) -> list[tuple[bytes, bytes | None]]:
    return [(f"k{k}".encode(), f"v{r}".encode()) for r in range(rounds) for k in range(keys)]


def test_only_the_latest_value_of_each_key_stays_at_its_offset(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(compacted())
    append_all(log, overwrites(5, 20), per_batch=3)
    seal(log)
    before = records(log)
    assert len(log.segments) > 4
    result = LogCleaner(REAL_FS, clock).clean(log, None)
    assert result is not None and result.end_offset == log.active_segment.base_offset == 100
    after = records(log)
    assert after == sorted((offset, key, value) for key, (offset, value) in latest(before).items())
    assert [o for o, _, _ in after] == [95, 96, 97, 98, 99]
    assert log.log_start_offset == 0 and log.log_end_offset == 100
    assert log.read(0, 1 << 20).read_bytes()[:8] == (93).to_bytes(8, "big")  # the batch of 93-95
    assert records(log) == after  # reading again from the start (a gap) works
    log.append_as_leader(keyed([(b"k0", b"new")]), 0)
    assert records(log)[-1] == (100, b"k0", b"new")


def test_small_cleaned_segments_are_grouped_at_the_next_cleaning(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(compacted())
    cleaner = LogCleaner(REAL_FS, clock)
    append_all(log, overwrites(3, 30), per_batch=3)
    seal(log)
    first = cleaner.clean(log, None)
    assert first is not None
    shrunk = len(log.segments)
    assert shrunk > 3  # segments are grouped by their size before cleaning, as in Kafka
    append_all(log, overwrites(3, 1), per_batch=3)
    seal(log)
    assert cleaner.clean(log, first.end_offset) is not None
    assert len(log.segments) == 2  # everything cleaned now fits one segment, then the active one
    log.purge_deleted_files()
    names = os.listdir(log.directory)
    assert not [n for n in names if n.endswith((".deleted", ".cleaned", ".swap"))]
    assert sorted(n for n in names if n.endswith(".log")) == [
        "00000000000000000000.log", "00000000000000000093.log",
    ]  # fmt: skip
    assert records(log) == [(90, b"k0", b"v0"), (91, b"k1", b"v0"), (92, b"k2", b"v0")]


def test_tombstones_stay_for_delete_retention_ms_after_the_first_cleaning(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(compacted(delete_retention_ms=DAY))
    append_all(log, [(b"a", b"1"), (b"b", b"1"), (b"a", None), (b"c", b"1")])
    seal(log)
    cleaner = LogCleaner(REAL_FS, clock)
    first = cleaner.clean(log, None)
    assert first is not None
    assert records(log) == [(1, b"b", b"1"), (2, b"a", None), (3, b"c", b"1")]
    clock.advance(DAY - 1)
    assert cleaner.clean(log, first.end_offset) is None  # nothing dirty, the horizon not reached
    assert (2, b"a", None) in records(log)
    clock.advance(1)
    assert cleaner.clean(log, first.end_offset) is not None  # the horizon is due
    assert records(log) == [(1, b"b", b"1"), (3, b"c", b"1")]


def test_a_tombstone_written_after_cleaning_still_removes_the_older_value(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(compacted(delete_retention_ms=0))
    cleaner = LogCleaner(REAL_FS, clock)
    append_all(log, [(b"a", b"1"), (b"b", b"1")])
    seal(log)
    end = cleaner.clean(log, None)
    assert end is not None
    append_all(log, [(b"a", None)])
    seal(log)
    again = cleaner.clean(log, end.end_offset)
    assert again is not None
    assert records(log) == [(1, b"b", b"1"), (2, b"a", None)]  # kept until a cleaning after its horizon
    assert cleaner.clean(log, again.end_offset) is not None
    assert records(log) == [(1, b"b", b"1")]


def test_min_compaction_lag_keeps_young_segments_dirty(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(compacted(min_compaction_lag_ms=60_000))
    append_all(log, overwrites(2, 10), ts=clock.now)
    seal(log)
    cleaner = LogCleaner(REAL_FS, clock)
    assert cleaner.clean(log, None) is None
    assert len(records(log)) == 20
    clock.advance(60_000)
    assert cleaner.clean(log, None) is not None
    assert len(records(log)) == 2


def test_the_dirty_ratio_decides_and_max_compaction_lag_overrides_it(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(compacted(min_cleanable_dirty_ratio=0.5, max_compaction_lag_ms=DAY))
    cleaner = LogCleaner(REAL_FS, clock)
    append_all(log, [(f"k{i}".encode(), b"x" * 50) for i in range(40)], ts=clock.now)
    seal(log)
    first = cleaner.clean(log, None)
    assert first is not None  # everything was dirty
    append_all(log, [(b"k0", b"y" * 50)], ts=clock.now)
    seal(log)
    assert cleaner.clean(log, first.end_offset) is None  # ~1/40 dirty
    assert records(log)[0][1:] == (b"k0", b"x" * 50)
    clock.advance(DAY + 1)
    assert cleaner.clean(log, first.end_offset) is not None  # too long dirty: cleaned anyway
    assert [r for r in records(log) if r[1] == b"k0"] == [(40, b"k0", b"y" * 50)]


def test_the_active_segment_and_data_above_the_high_watermark_are_not_cleaned(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(compacted())
    append_all(log, overwrites(2, 4))
    assert LogCleaner(REAL_FS, clock).clean(log, None) is None  # all in the active segment
    log.roll()
    assert LogCleaner(REAL_FS, clock).clean(log, None) is None  # the HW is still 0
    log.set_high_watermark(log.log_end_offset)
    assert LogCleaner(REAL_FS, clock).clean(log, None) is not None


def test_compact_delete_also_deletes_by_retention(open_log: OpenLog, clock: Clock) -> None:
    clock.now = time.time_ns() // 1_000_000  # segments emptied by cleaning are as old as their mtime
    log = open_log(compacted(cleanup_policy=("compact", "delete"), retention_ms=DAY))
    append_all(log, overwrites(3, 20), ts=clock.now)
    seal(log)
    LogCleaner(REAL_FS, clock).clean(log, None)
    clock.advance(DAY + 1000)
    assert log.delete_old_segments() >= 1
    assert records(log) == []
    assert log.log_start_offset == 60


def test_compression_offsets_and_producer_fields_survive_a_rewrite(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(compacted())
    log.append_as_leader(keyed([(b"a", b"1"), (b"b", b"1"), (b"c", b"1")], compression=Compression.GZIP), 0)
    log.append_as_leader(keyed([(b"b", b"2")], producer=(9, 2, 0)), 0)
    seal(log)
    LogCleaner(REAL_FS, clock).clean(log, None)
    (first, _), (second, _) = batches(log)
    assert (first.compression, first.base_offset, first.last_offset_delta, first.records_count) == (
        Compression.GZIP, 0, 2, 2,
    )  # fmt: skip
    assert (second.producer_id, second.producer_epoch, second.base_sequence) == (9, 2, 0)
    assert records(log) == [(0, b"a", b"1"), (2, b"c", b"1"), (3, b"b", b"2")]


def test_a_producers_last_batch_stays_empty_so_its_state_survives_a_rebuild(
    tmp_path: Path, open_log: OpenLog, clock: Clock
) -> None:
    config = compacted()
    log = open_log(config)
    log.append_as_leader(keyed([(b"a", b"1")], producer=(9, 0, 0)), 0)
    log.append_as_leader(keyed([(b"a", b"2")], producer=(9, 0, 1)), 0)
    log.append_as_leader(keyed([(b"a", b"3")]), 0)
    seal(log)
    LogCleaner(REAL_FS, clock).clean(log, None)
    assert [(h.base_offset, h.records_count) for h, _ in batches(log)] == [(1, 0), (2, 1)]
    log.close(snapshot=False)
    for name in os.listdir(log.directory):
        if name.endswith(".snapshot"):
            os.remove(os.path.join(log.directory, name))
    again = open_log(config, clean=False)
    assert again.append_as_leader(keyed([(b"a", b"2")], producer=(9, 0, 1)), 0).duplicate
    with pytest.raises(OutOfOrderSequence):
        again.append_as_leader(keyed([(b"a", b"4")], producer=(9, 0, 5)), 0)


def test_a_compacted_topic_refuses_records_without_a_key(open_log: OpenLog) -> None:
    log = open_log(compacted())
    with pytest.raises(InvalidRecord, match="without key") as refused:
        log.append_as_leader(keyed([(b"a", b"1")]) + keyed([(None, b"1")]), 0)  # type: ignore[list-item]
    assert [index for index, _ in refused.value.record_errors] == [0]  # the second batch's first record
    assert log.log_end_offset == 0


def test_the_log_manager_cleans_and_keeps_kafkas_checkpoint_file(tmp_path: Path, clock: Clock) -> None:
    manager = LogManager([str(tmp_path)], time_ms=clock)
    manager.startup()
    log = manager.get_or_create_log("compacted", 0, compacted())
    plain = manager.get_or_create_log("plain", 0)
    append_all(log, overwrites(2, 10))
    append_all(plain, overwrites(2, 10))
    for each in (log, plain):
        seal(each)
    assert manager.clean_logs() == 1
    path = str(tmp_path / "cleaner-offset-checkpoint")
    assert read_offset_checkpoint(path) == {("compacted", 0): 20}
    assert (tmp_path / "cleaner-offset-checkpoint").read_text() == "0\n1\ncompacted 0 20\n"
    assert manager.clean_logs() == 0  # nothing dirty any more
    assert len(records(plain)) == 20
    manager.shutdown()


def test_the_checkpoint_survives_a_restart(tmp_path: Path, clock: Clock) -> None:
    manager = LogManager([str(tmp_path)], time_ms=clock, topic_configs=lambda t: compacted())
    manager.startup()
    log = manager.get_or_create_log("compacted", 0)
    append_all(log, overwrites(2, 10))
    seal(log)
    assert manager.clean_logs() == 1
    manager.shutdown()
    again = LogManager([str(tmp_path)], time_ms=clock, topic_configs=lambda t: compacted())
    again.startup()
    reopened = again.get_log("compacted", 0)
    assert reopened is not None
    reopened.set_high_watermark(reopened.log_end_offset)
    assert again.clean_logs() == 0
    assert records(reopened) == [(18, b"k0", b"v9"), (19, b"k1", b"v9")]

"""The producer state inside the Log: idempotent retries, fencing, snapshots, reloads, the LSO."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from protocol.records import Record, build_batch, build_control_batch, iter_batches
from storage.config import LogConfig
from storage.errors import InvalidRecord, LogOffline
from storage.fs import REAL_FS
from storage.log.log import Log
from storage.manager import LogManager
from storage.producer.state import AppendOrigin, InvalidProducerEpoch, OutOfOrderSequence
from storage.recovery.loader import LogLoader
from tests.storage.batches import make_batch
from tests.storage.conftest import Clock, OpenLog

TS = 1_000_000


def idem(pid: int, epoch: int, seq: int, count: int = 1, *, txn: bool = False, ts: int = TS) -> bytes:
    """An idempotent (or transactional) batch of ``count`` records from producer ``pid``."""
    records = [Record(i, ts, f"k{i}".encode(), f"v{seq + i}".encode()) for i in range(count)]
    return build_batch(
        records, base_offset=0, producer_id=pid, producer_epoch=epoch, base_sequence=seq, is_transactional=txn
    )


def stored(log: Log) -> list[tuple[int, int, int, int]]:
    """(base offset, producer id, base sequence, records) of every batch in the log."""
    data = log.read(log.log_start_offset, 1 << 30).read_bytes()
    return [(h.base_offset, h.producer_id, h.base_sequence, h.records_count) for h, _ in iter_batches(data)]


def snapshots(log: Log) -> list[int]:
    return sorted(int(n.split(".")[0]) for n in os.listdir(log.directory) if n.endswith(".snapshot"))


def test_a_retried_batch_gets_its_original_offsets_and_is_stored_once(open_log: OpenLog) -> None:
    log = open_log()
    first = log.append_as_leader(idem(7, 0, 0, 3), 0)
    log.append_as_leader(make_batch([b"plain"]), 0)
    retry = log.append_as_leader(idem(7, 0, 0, 3), 0)
    assert (first.first_offset, first.last_offset, first.duplicate) == (0, 2, False)
    assert (retry.first_offset, retry.last_offset, retry.duplicate) == (0, 2, True)
    assert retry.num_messages == 0 and retry.log_append_time == -1
    assert log.log_end_offset == 4
    assert stored(log) == [(0, 7, 0, 3), (3, -1, -1, 1)]
    assert log.append_as_leader(idem(7, 0, 3, 2), 0).first_offset == 4  # the next batch goes on


def test_out_of_order_and_fenced_batches_raise_and_store_nothing(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(idem(7, 1, 0, 2), 0)
    size = log.size
    with pytest.raises(OutOfOrderSequence):
        log.append_as_leader(idem(7, 1, 5), 0)
    with pytest.raises(InvalidProducerEpoch):
        log.append_as_leader(idem(7, 0, 2), 0)
    with pytest.raises(OutOfOrderSequence):  # a new epoch starts at sequence 0
        log.append_as_leader(idem(7, 2, 3), 0)
    assert (log.log_end_offset, log.size) == (2, size)
    assert stored(log) == [(0, 7, 0, 2)]
    assert log.append_as_leader(idem(7, 1, 2), 0).first_offset == 2


def test_a_request_mixing_retried_and_new_batches_is_refused(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(idem(7, 0, 0), 0)
    with pytest.raises(InvalidRecord, match="cannot be mixed"):
        log.append_as_leader(idem(7, 0, 0) + idem(7, 0, 1), 0)
    assert log.log_end_offset == 1
    log.append_as_leader(idem(7, 0, 1), 0)
    both = log.append_as_leader(idem(7, 0, 0) + idem(7, 0, 1), 0)
    assert (both.first_offset, both.last_offset, both.duplicate) == (0, 1, True)


def test_clients_cannot_write_control_batches_but_coordinators_can(open_log: OpenLog) -> None:
    log = open_log()
    marker = build_control_batch(True, 7, 0, coordinator_epoch=3)
    with pytest.raises(InvalidRecord, match="control records"):
        log.append_as_leader(marker, 0)
    bad_sequence = build_batch([Record(0, TS, None, b"v")], producer_id=7, producer_epoch=0)
    with pytest.raises(InvalidRecord, match="sequence"):
        log.append_as_leader(bad_sequence, 0)
    assert log.log_end_offset == 0
    log.append_as_leader(idem(7, 0, 0, txn=True), 0)
    assert log.append_as_leader(marker, 0, origin=AppendOrigin.COORDINATOR).first_offset == 1


def test_the_last_stable_offset_waits_for_open_transactions(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(make_batch([b"a", b"b"]), 0)
    log.append_as_leader(idem(7, 0, 0, 2, txn=True), 0)  # offsets 2-3, transaction opens at 2
    log.append_as_leader(make_batch([b"c"]), 0)
    log.set_high_watermark(log.log_end_offset)
    assert (log.high_watermark, log.last_stable_offset) == (5, 2)
    log.append_as_leader(build_control_batch(False, 7, 0, 1), 0, origin=AppendOrigin.COORDINATOR)  # abort at 5
    assert log.last_stable_offset == 2  # the marker is not below the high watermark yet
    log.set_high_watermark(log.log_end_offset)
    assert log.last_stable_offset == log.high_watermark == 6


def test_a_follower_tracks_producers_so_it_recognises_retries_as_leader(
    tmp_path: Path, clock: Clock, open_log: OpenLog
) -> None:
    leader = open_log()
    leader.append_as_leader(idem(7, 0, 0, 2), 0)
    data = leader.read(0, 1 << 20).read_bytes()
    follower = LogLoader.load(str(tmp_path / "f-0"), "f", 0, LogConfig(), REAL_FS, clock, clean_shutdown=True)
    follower.append_as_follower(data)
    retry = follower.append_as_leader(idem(7, 0, 0, 2), 1)
    assert (retry.first_offset, retry.last_offset, retry.duplicate) == (0, 1, True)


def test_producer_state_survives_a_clean_restart_without_a_replay(open_log: OpenLog) -> None:
    config = LogConfig(segment_bytes=340, index_interval_bytes=0)  # 4 batches a segment, all but 1 indexed
    log = open_log(config)
    for seq in range(0, 20, 2):
        log.append_as_leader(idem(7, 0, seq, 2), 0)
    assert len(log.segments) > 2
    assert log.active_segment.offset_index.last_entry()[1] > 0  # the tail check starts after batch 1
    log.flush()
    log.close()
    end = log.log_end_offset
    assert snapshots(log)[-1] == end
    # Spoil the magic byte of the active segment's first batch (the CRC does not cover it; the tail
    # check after a clean shutdown starts at the last index entry): a replay would fail on it, so a
    # load that succeeds did not replay.
    with open(log.active_segment.log_path, "r+b") as f:
        f.seek(16)
        f.write(b"\x07")
    again = open_log(config, clean=True)
    retry = again.append_as_leader(idem(7, 0, 18, 2), 0)
    assert (retry.first_offset, retry.duplicate) == (18, True)
    with pytest.raises(OutOfOrderSequence):
        again.append_as_leader(idem(7, 0, 21), 0)
    again.close(snapshot=False)
    os.remove(os.path.join(log.directory, f"{end:020d}.snapshot"))
    with pytest.raises(LogOffline, match="unreadable"):  # without the snapshot it must replay
        open_log(config, clean=True)


def test_producer_state_is_rebuilt_by_replay_after_an_unclean_stop(open_log: OpenLog) -> None:
    config = LogConfig(segment_bytes=300)
    log = open_log(config)
    for pid in (7, 8):
        for seq in range(0, 6, 2):
            log.append_as_leader(idem(pid, 3, seq, 2), 0)
    log.close(snapshot=False)
    for offset in snapshots(log):  # no snapshot at all: everything comes from the log
        os.remove(os.path.join(log.directory, f"{offset:020d}.snapshot"))
    again = open_log(config, clean=False)
    assert again.producer_state.last_entry(7) is not None
    assert again.append_as_leader(idem(7, 3, 4, 2), 0).duplicate
    assert again.append_as_leader(idem(8, 3, 4, 2), 0).first_offset == 10
    with pytest.raises(InvalidProducerEpoch):
        again.append_as_leader(idem(8, 2, 0), 0)
    assert snapshots(again)[-1] == 12  # the rebuilt state was written down at the log end


def test_a_snapshot_is_taken_at_every_roll(open_log: OpenLog) -> None:
    log = open_log(LogConfig(segment_bytes=300))
    for seq in range(10):
        log.append_as_leader(idem(7, 0, seq), 0)
    bases = [s.base_offset for s in log.segments]
    assert len(bases) > 2
    assert snapshots(log) == bases[1:]


def test_truncation_reloads_the_producer_state(open_log: OpenLog) -> None:
    log = open_log(LogConfig(segment_bytes=300))
    for seq in range(10):
        log.append_as_leader(idem(7, 0, seq), 0)
    log.truncate_to(4)
    assert log.log_end_offset == 4
    assert all(s <= 4 for s in snapshots(log))
    with pytest.raises(OutOfOrderSequence):
        log.append_as_leader(idem(7, 0, 10), 0)  # what followed the removed batches
    assert not log.append_as_leader(idem(7, 0, 4), 0).duplicate
    assert log.append_as_leader(idem(7, 0, 4), 0).duplicate


def test_snapshots_below_the_log_start_go_with_the_segments(open_log: OpenLog) -> None:
    log = open_log(LogConfig(segment_bytes=300, file_delete_delay_ms=0))
    for seq in range(10):
        log.append_as_leader(idem(7, 0, seq), 0)
    log.set_high_watermark(log.log_end_offset)
    bases = [s.base_offset for s in log.segments]
    log.delete_records_before(bases[2])
    log.delete_old_segments()  # the snapshots go with the segments (file.delete.delay.ms is 0)
    assert snapshots(log) == bases[2:]
    assert [s.base_offset for s in log.segments] == bases[2:]
    assert log.append_as_leader(idem(7, 0, 9), 0).duplicate  # the state of the deleted data stays


def test_the_log_manager_expires_idle_producers(tmp_path: Path, clock: Clock) -> None:
    manager = LogManager([str(tmp_path)], time_ms=clock, producer_id_expiration_ms=60_000)
    manager.startup()
    log = manager.get_or_create_log("t", 0)
    log.append_as_leader(idem(7, 0, 0, ts=clock.now), 0)
    log.append_as_leader(idem(8, 0, 0, ts=clock.now + 30_000), 0)
    assert manager.remove_expired_producers(clock.now + 59_999) == 0
    assert manager.remove_expired_producers(clock.now + 60_000) == 1
    assert log.producer_state.last_entry(7) is None and log.producer_state.last_entry(8) is not None
    assert log.append_as_leader(idem(7, 0, 5), 0).first_offset == 2  # a forgotten producer starts anew
    manager.shutdown()


def test_a_clean_log_without_snapshots_is_loaded_without_a_scan(open_log: OpenLog) -> None:
    """A log from before producer snapshots (Kafka's upgrade path): empty snapshots at the last two
    segment bases and the log end instead of reading every segment."""
    config = LogConfig(segment_bytes=300)
    log = open_log(config)
    for seq in range(10):
        log.append_as_leader(idem(7, 0, seq), 0)
    bases = [s.base_offset for s in log.segments]
    log.close(snapshot=False)
    for offset in snapshots(log):
        os.remove(os.path.join(log.directory, f"{offset:020d}.snapshot"))
    again = open_log(config, clean=True)
    assert snapshots(again) == sorted({*bases[-2:], again.log_end_offset})
    assert again.producer_state.last_entry(7) is None

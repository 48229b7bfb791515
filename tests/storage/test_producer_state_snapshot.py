"""Producer snapshots: Kafka's file format, corruption, truncation, rebuilding from snapshot + log."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import crc32c
import pytest

from storage.producer.state import (
    AbortedTxn,
    AppendOrigin,
    EndTxnMarker,
    OutOfOrderSequence,
    ProducerStateManager,
    ReplayedBatch,
)
from tests.storage.test_producer_state_support import TS, Log, control_batch, data_batch

ABORT = EndTxnMarker(is_commit=False, coordinator_epoch=3)


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def fresh(log: Log) -> ProducerStateManager:
    return ProducerStateManager(log.psm.partition_dir, time_ms=lambda: TS)


def test_the_snapshot_file_is_kafkas_format(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.append(data_batch(7, 2, 10, offset=0, count=3, ts=TS + 1))
    log.append(data_batch(9, 0, 0, offset=3, txn=True, ts=TS + 2))
    path = log.psm.take_snapshot()
    assert path is not None and path.name == "00000000000000000004.snapshot"
    assert names(tmp_path) == ["00000000000000000004.snapshot"]
    data = path.read_bytes()
    version, crc, count = struct.unpack_from(">hIi", data)
    assert (version, count, len(data)) == (1, 2, 10 + 2 * 46)
    assert crc == crc32c.crc32c(data[6:])
    rows = [struct.unpack_from(">qhiqiqiq", data, 10 + i * 46) for i in range(2)]
    # pid, epoch, last seq, last offset, offset delta, timestamp, coordinator epoch, txn first offset
    assert rows == [(7, 2, 12, 2, 2, TS + 1, -1, -1), (9, 0, 0, 3, 0, TS + 2, -1, 3)]


def test_a_snapshot_round_trip_restores_producers_and_open_transactions(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.append(data_batch(7, 2, 10, offset=0, count=3))
    log.append(data_batch(9, 0, 0, offset=3, txn=True))
    log.append(data_batch(9, 0, 1, offset=4, txn=True))
    log.psm.take_snapshot()
    psm = fresh(log)
    assert psm.load(0, 5, log.replay) == []
    assert psm.map_end_offset == 5
    entry = psm.last_entry(7)
    assert entry is not None
    assert (entry.producer_epoch, entry.first_seq, entry.last_seq, entry.last_data_offset) == (2, 10, 12, 2)
    assert psm.first_unstable_offset() == 3
    # the last batch is still recognised as a duplicate, and sequences go on
    append = psm.prepare_append(AppendOrigin.CLIENT)
    duplicate = append.append(data_batch(7, 2, 10, offset=5, count=3))
    assert duplicate is not None and (duplicate.first_offset, duplicate.last_offset) == (0, 2)
    append = psm.prepare_append(AppendOrigin.CLIENT)
    append.append(data_batch(7, 2, 13, offset=5))
    with pytest.raises(OutOfOrderSequence):
        psm.prepare_append(AppendOrigin.CLIENT).append(data_batch(9, 0, 5, offset=5, txn=True))


def test_taking_a_snapshot_twice_at_one_offset_writes_once(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.append(data_batch(7, 0, 0, offset=0))
    assert log.psm.take_snapshot() is not None
    assert log.psm.take_snapshot() is None
    assert log.psm.snapshot_offsets() == [1]


def build_log_with_two_snapshots(tmp_path: Path) -> Log:
    log = Log(tmp_path)
    log.append(data_batch(7, 0, 0, offset=0, count=2))
    log.psm.take_snapshot()  # at 2
    log.append(data_batch(7, 0, 2, offset=2))
    log.append(data_batch(8, 0, 0, offset=3, txn=True))
    log.psm.take_snapshot()  # at 4
    log.append(data_batch(7, 0, 3, offset=4))
    return log


@pytest.mark.parametrize("damage", ["flip", "cut", "empty", "version"])
def test_a_damaged_snapshot_is_skipped_and_the_state_rebuilt_from_an_older_one(tmp_path: Path, damage: str) -> None:
    log = build_log_with_two_snapshots(tmp_path)
    newest = tmp_path / "00000000000000000004.snapshot"
    data = bytearray(newest.read_bytes())
    if damage == "flip":
        data[20] ^= 0x01
    elif damage == "cut":
        data = data[:-5]
    elif damage == "empty":
        data = bytearray()
    else:
        data[1] = 2
    newest.write_bytes(bytes(data))

    seen: list[int] = []

    def replay(start: int) -> Iterator[ReplayedBatch]:
        seen.append(start)
        return log.replay(start)

    psm = fresh(log)
    psm.load(0, log.end_offset, replay)
    assert seen == [2]  # replayed from the older snapshot
    assert psm.active_producers() == log.psm.active_producers()
    assert psm.first_unstable_offset() == 3
    # the damaged file is gone, and a good snapshot at the log end was written
    assert psm.snapshot_offsets() == [2, 5]
    assert names(tmp_path) == ["00000000000000000002.snapshot", "00000000000000000005.snapshot"]


def test_without_a_usable_snapshot_the_state_is_rebuilt_from_the_log_start(tmp_path: Path) -> None:
    log = build_log_with_two_snapshots(tmp_path)
    for path in tmp_path.iterdir():
        path.write_bytes(b"\x00\x01garbage")
    psm = fresh(log)
    psm.load(0, log.end_offset, log.replay)
    assert psm.active_producers() == log.psm.active_producers()


def test_truncation_deletes_later_snapshots_and_rebuilds_the_state(tmp_path: Path) -> None:
    log = build_log_with_two_snapshots(tmp_path)
    log.batches = log.batches[:2]  # the log is cut to end at offset 3
    log.psm.truncate_and_reload(0, 3, log.replay)
    assert log.psm.snapshot_offsets() == [2, 3]
    assert log.psm.map_end_offset == 3
    assert log.psm.last_entry(8) is None
    assert log.psm.first_unstable_offset() is None
    entry = log.psm.last_entry(7)
    assert entry is not None and entry.last_seq == 2
    log.append(data_batch(7, 0, 3, offset=3))


def test_truncate_and_reload_at_the_current_end_keeps_the_state(tmp_path: Path) -> None:
    log = build_log_with_two_snapshots(tmp_path)
    calls: list[int] = []

    def replay(start: int) -> Iterator[ReplayedBatch]:
        calls.append(start)
        return log.replay(start)

    log.psm.truncate_and_reload(0, log.end_offset, replay)
    assert calls == []
    entry = log.psm.last_entry(7)
    assert entry is not None and len(entry.batches) == 3  # not reduced to a snapshot's one batch


def test_snapshots_below_the_log_start_are_deleted(tmp_path: Path) -> None:
    log = build_log_with_two_snapshots(tmp_path)
    log.psm.delete_snapshots_before(4)
    assert names(tmp_path) == ["00000000000000000004.snapshot"]
    psm = fresh(log)
    psm.load(4, log.end_offset, log.replay)
    entry = psm.last_entry(7)
    assert entry is not None and entry.last_seq == 3
    assert psm.load(5, 5, log.replay) == []  # the start moved past every snapshot
    assert psm.snapshot_offsets() == [5]
    assert psm.map_end_offset == 5


def test_full_truncation_forgets_everything(tmp_path: Path) -> None:
    log = build_log_with_two_snapshots(tmp_path)
    log.psm.truncate_fully_and_start_at(100)
    assert names(tmp_path) == []
    assert log.psm.is_empty() and log.psm.map_end_offset == 100
    assert log.psm.first_unstable_offset() is None


def test_loading_removes_half_written_snapshots_and_drops_expired_producers(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.append(data_batch(7, 0, 0, offset=0, ts=TS))
    log.append(data_batch(8, 0, 0, offset=1, ts=TS + 1000))
    log.psm.take_snapshot()
    (tmp_path / "00000000000000000009.snapshot.tmp").write_bytes(b"half")
    psm = ProducerStateManager(tmp_path, producer_id_expiration_ms=1000)
    psm.load(0, 2, log.replay, now_ms=TS + 1500)
    assert sorted(psm.active_producers()) == [8]
    assert names(tmp_path) == ["00000000000000000002.snapshot"]


def test_replay_takes_snapshots_where_asked_and_reports_aborted_transactions(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.append(data_batch(7, 0, 0, offset=0, txn=True))
    log.append(data_batch(8, 0, 0, offset=1, txn=True))
    log.append(control_batch(7, 0, offset=2), ABORT, AppendOrigin.COORDINATOR)
    log.append(data_batch(9, 0, 0, offset=3))
    assert log.aborted == [AbortedTxn(7, 0, 2, 1)]
    psm = fresh(log)
    assert psm.load(0, 4, log.replay, snapshot_at=[1, 3]) == log.aborted
    assert psm.snapshot_offsets() == [1, 3, 4]
    (tmp_path / "00000000000000000004.snapshot").unlink()
    again = fresh(log)
    replayed: list[int] = []

    def replay(start: int) -> Iterator[ReplayedBatch]:
        replayed.extend(h.base_offset for h, _ in log.replay(start))
        return log.replay(start)

    assert again.load(0, 4, replay) == []  # the abort is before the snapshot at 3
    assert replayed == [3]
    # producer 8's transaction, open at the snapshot, is restored from it
    assert [t.first_offset for t in again.ongoing_transactions()] == [1]
    assert again.first_unstable_offset() == 1

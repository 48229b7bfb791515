"""The ``.txnindex`` of each segment: written when a marker aborts, read by read_committed fetches,
rebuilt after an unclean stop, truncated and deleted with its segment."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import NamedTuple

import pytest

from protocol.records import Record, build_batch, build_control_batch, iter_batches
from storage.config import LogConfig
from storage.fs import REAL_FS
from storage.log.log import Log
from storage.log.results import FetchDataInfo
from storage.producer.state import AbortedTxn, AppendOrigin
from storage.recovery.loader import LogLoader
from tests.storage.batches import make_batch
from tests.storage.conftest import Clock, OpenLog

TS = 1_000_000
COORD = AppendOrigin.COORDINATOR


def txn(pid: int, seq: int, count: int = 1, epoch: int = 0) -> bytes:
    records = [Record(i, TS, b"k", f"{pid}-{seq + i}".encode()) for i in range(count)]
    return build_batch(
        records, base_offset=0, producer_id=pid, producer_epoch=epoch, base_sequence=seq, is_transactional=True
    )


def abort(log: Log, pid: int, epoch: int = 0) -> int:
    return log.append_as_leader(build_control_batch(False, pid, epoch, 5, timestamp=TS), 0, origin=COORD).first_offset


def commit(log: Log, pid: int, epoch: int = 0) -> int:
    return log.append_as_leader(build_control_batch(True, pid, epoch, 5, timestamp=TS), 0, origin=COORD).first_offset


class CommittedRead(NamedTuple):
    info: FetchDataInfo
    aborted_transactions: tuple[AbortedTxn, ...]

    def read_bytes(self) -> bytes:
        return self.info.read_bytes()


def committed_read(log: Log, start: int, max_bytes: int, max_offset: int) -> CommittedRead:
    """A read as a read_committed Fetch makes it: the batches and their aborted transactions."""
    info = log.read(start, max_bytes, max_offset)
    return CommittedRead(info, log.aborted_transactions(info))


def txnindex_files(log: Log) -> dict[str, bytes]:
    out = {}
    for name in sorted(os.listdir(log.directory)):
        if name.endswith(".txnindex"):
            with open(os.path.join(log.directory, name), "rb") as f:
                out[name] = f.read()
    return out


def entries(data: bytes) -> list[tuple[int, int, int, int, int]]:
    return [struct.unpack_from(">hqqqq", data, pos) for pos in range(0, len(data), 34)]


def test_an_abort_writes_kafkas_entry_and_a_commit_writes_none(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(make_batch([b"plain"]), 0)  # 0
    log.append_as_leader(txn(7, 0, 2), 0)  # 1-2
    log.append_as_leader(txn(8, 0), 0)  # 3
    assert commit(log, 8) == 4
    assert txnindex_files(log) == {}  # a segment without aborts has no .txnindex
    assert abort(log, 7) == 5
    files = txnindex_files(log)
    assert list(files) == ["00000000000000000000.txnindex"]
    # version 0, producer 7, first offset 1, last offset (the marker) 5, LSO after the marker 6
    assert entries(files["00000000000000000000.txnindex"]) == [(0, 7, 1, 5, 6)]


def test_read_committed_lists_the_aborted_transactions_overlapping_what_it_read(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(txn(7, 0), 0)  # 0
    abort(log, 7)  # 1
    log.append_as_leader(make_batch([b"x"]), 0)  # 2
    log.append_as_leader(txn(8, 0), 0)  # 3
    log.append_as_leader(txn(9, 0), 0)  # 4
    abort(log, 8)  # 5
    commit(log, 9)  # 6
    log.set_high_watermark(log.log_end_offset)
    everything = committed_read(log, 0, 1 << 20, log.last_stable_offset)
    assert everything.aborted_transactions == (AbortedTxn(7, 0, 1, 2), AbortedTxn(8, 3, 5, 4))
    later = committed_read(log, 2, 1 << 20, log.last_stable_offset)
    assert [t.producer_id for t in later.aborted_transactions or ()] == [8]
    # A read that stops before producer 8's data does not list it.
    first_two = committed_read(log, 0, 1, log.last_stable_offset)  # one batch (KIP-74)
    assert [t.producer_id for t in first_two.aborted_transactions or ()] == [7]


def test_a_transaction_spanning_segments_is_found_from_the_segment_holding_its_data(open_log: OpenLog) -> None:
    log = open_log(LogConfig(segment_bytes=200))
    log.append_as_leader(txn(7, 0), 0)  # 0, segment 0
    for i in range(4):
        log.append_as_leader(make_batch([b"filler %d" % i]), 0)
    assert len(log.segments) > 1
    marker = abort(log, 7)
    log.set_high_watermark(log.log_end_offset)
    assert log.segments[-1].base_offset <= marker
    assert "00000000000000000000.txnindex" not in txnindex_files(log)  # the marker's segment holds it
    found = committed_read(log, 0, 100, log.last_stable_offset)
    assert found.aborted_transactions == (AbortedTxn(7, 0, marker, marker + 1),)


@pytest.mark.parametrize("snapshots", ["kept", "lost"])  # the rebuild replays itself, or reuses the load's replay
def test_txnindex_is_rebuilt_after_an_unclean_stop(snapshots: str, open_log: OpenLog) -> None:
    config = LogConfig(segment_bytes=250)
    log = open_log(config)
    for pid in (7, 8, 9, 10):
        log.append_as_leader(txn(pid, 0, 2), 0)
        log.append_as_leader(make_batch([b"between"]), 0)
        if pid % 2:
            abort(log, pid)
        else:
            commit(log, pid)
    expected = txnindex_files(log)
    assert len(expected) == 2
    log.close(snapshot=False)
    # A crash lost one index and tore the other; the log files survived.
    names = sorted(expected)
    if snapshots == "lost":
        for name in os.listdir(log.directory):
            if name.endswith(".snapshot"):
                os.remove(os.path.join(log.directory, name))
    os.remove(os.path.join(log.directory, names[0]))
    with open(os.path.join(log.directory, names[1]), "r+b") as f:
        f.truncate(20)
    again = open_log(config, clean=False, recovery_point=0)
    assert txnindex_files(again) == expected
    again.set_high_watermark(again.log_end_offset)
    found = committed_read(again, 0, 1 << 20, again.last_stable_offset)
    assert [t.producer_id for t in found.aborted_transactions or ()] == [7]
    assert [t.producer_id for t in again.collect_aborted_transactions(0, again.log_end_offset)] == [7, 9]


def test_a_clean_restart_keeps_the_index_and_aborts_after_it_append(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(txn(7, 0), 0)
    abort(log, 7)
    log.flush()
    log.close()
    again = open_log(clean=True)
    again.append_as_leader(txn(7, 1), 0)
    abort(again, 7)
    data = txnindex_files(again)["00000000000000000000.txnindex"]
    assert [(pid, first, last) for _, pid, first, last, _ in entries(data)] == [(7, 0, 1), (7, 2, 3)]


def test_truncation_drops_entries_of_markers_it_removes(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(txn(7, 0), 0)
    abort(log, 7)  # 1
    log.append_as_leader(txn(8, 0), 0)
    abort(log, 8)  # 3
    log.truncate_to(3)
    assert [t.producer_id for t in log.collect_aborted_transactions(0, 10)] == [7]
    assert len(txnindex_files(log)["00000000000000000000.txnindex"]) == 34
    assert log.producer_state.first_undecided_offset() == 2  # producer 8's transaction is open again


def test_retention_deletes_the_index_with_its_segment(open_log: OpenLog) -> None:
    config = LogConfig(segment_bytes=200, retention_ms=1000, file_delete_delay_ms=0)
    log = open_log(config)
    log.append_as_leader(txn(7, 0), 0)
    abort(log, 7)
    for i in range(4):
        log.append_as_leader(make_batch([b"filler %d" % i]), 0)
    assert "00000000000000000000.txnindex" in txnindex_files(log)
    log.set_high_watermark(log.log_end_offset)
    assert log.delete_old_segments(now_ms=10**13) >= 1
    log.purge_deleted_files(now_ms=10**13)
    assert "00000000000000000000.txnindex" not in txnindex_files(log)
    assert not any(n.startswith("00000000000000000000.") for n in os.listdir(log.directory))


def test_delete_records_leaves_only_transactions_overlapping_what_remains(open_log: OpenLog) -> None:
    config = LogConfig(segment_bytes=200, file_delete_delay_ms=0)
    log = open_log(config)
    log.append_as_leader(txn(7, 0), 0)  # 0
    abort(log, 7)  # 1
    for i in range(4):
        log.append_as_leader(make_batch([b"filler %d" % i]), 0)
    log.append_as_leader(txn(8, 0), 0)
    abort_8 = abort(log, 8)
    log.set_high_watermark(log.log_end_offset)
    assert log.delete_records_before(3) == 3
    listed: list[int] = []
    offset = 3
    while offset < log.last_stable_offset:  # as a consumer reads on (one segment per read)
        found = committed_read(log, offset, 1 << 20, log.last_stable_offset)
        listed += [t.producer_id for t in found.aborted_transactions or ()]
        offset = list(iter_batches(found.read_bytes()))[-1][0].next_offset
    assert listed == [8]
    log.delete_old_segments()
    log.purge_deleted_files()
    assert log.segments[0].base_offset > 1 or len(log.segments) == 1
    assert [t.producer_id for t in log.collect_aborted_transactions(log.log_start_offset, abort_8 + 1)] == [8]
    assert log.last_stable_offset == log.high_watermark


def test_a_damaged_txnindex_found_by_a_read_or_an_append_is_rebuilt(open_log: OpenLog) -> None:
    log = open_log()
    log.append_as_leader(txn(7, 0), 0)
    abort(log, 7)  # 1
    log.append_as_leader(txn(8, 0), 0)
    abort(log, 8)  # 3
    log.set_high_watermark(log.log_end_offset)
    expected = txnindex_files(log)
    log.flush()
    log.close()
    path = os.path.join(log.directory, "00000000000000000000.txnindex")
    with open(path, "r+b") as f:  # damage that a clean restart does not look at
        f.truncate(50)
    again = open_log(clean=True)
    again.set_high_watermark(again.log_end_offset)
    found = committed_read(again, 0, 1 << 20, again.last_stable_offset)
    assert [t.producer_id for t in found.aborted_transactions or ()] == [7, 8]
    assert txnindex_files(again) == expected
    again.close()
    with open(path, "r+b") as f:
        f.seek(0)
        f.write(b"\x00\x05")  # an unknown version
    third = open_log(clean=True)
    third.append_as_leader(txn(9, 0), 0)
    abort(third, 9)  # the append meets the damaged file: rebuilt, with this abort in it
    assert [t.producer_id for t in third.collect_aborted_transactions(0, 10)] == [7, 8, 9]
    third.truncate_to(4)
    assert [t.producer_id for t in third.collect_aborted_transactions(0, 10)] == [7, 8]


def test_a_follower_writes_the_same_txnindex_as_its_leader(tmp_path: Path, clock: Clock, open_log: OpenLog) -> None:
    leader = open_log()
    leader.append_as_leader(txn(7, 0, 2), 0)
    leader.append_as_leader(txn(8, 0), 0)
    abort(leader, 7)
    commit(leader, 8)
    follower = LogLoader.load(str(tmp_path / "f-0"), "f", 0, LogConfig(), REAL_FS, clock, clean_shutdown=True)
    follower.append_as_follower(leader.read(0, 1 << 20).read_bytes())
    assert txnindex_files(follower) == txnindex_files(leader) != {}
    follower.set_high_watermark(follower.log_end_offset)
    assert follower.last_stable_offset == follower.log_end_offset

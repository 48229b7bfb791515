"""Compaction of transactional data (Kafka's rules): aborted records are discarded using the
``.txnindex``, committed ones are compacted like any other, and markers go delete.retention.ms after
their transaction's data is gone; open transactions (beyond the LSO) are never touched."""

from __future__ import annotations

import os

import pytest

from protocol.records import Record, build_batch, build_control_batch, iter_records
from storage.cleaner.cleaner import LogCleaner
from storage.errors import StorageError
from storage.fs import REAL_FS, FileSystem
from storage.log.log import Log
from storage.producer.state import AppendOrigin
from tests.storage.cleaner_support import TS, batches, compacted, keyed, seal
from tests.storage.conftest import Clock, OpenLog

RETENTION = 10_000


def txn(log: Log, pid: int, seq: int, pairs: list[tuple[bytes, bytes]]) -> None:
    recs = [Record(i, TS + i, k, v) for i, (k, v) in enumerate(pairs)]
    batch = build_batch(recs, producer_id=pid, producer_epoch=0, base_sequence=seq, is_transactional=True)
    log.append_as_leader(batch, 0)


def end(log: Log, pid: int, commit: bool) -> int:
    marker = build_control_batch(commit, pid, 0, 1, timestamp=TS)
    return log.append_as_leader(marker, 0, origin=AppendOrigin.COORDINATOR).first_offset


def data(log: Log) -> list[tuple[int, bytes | None, bytes | None]]:
    """(offset, key, value) of every data record left (markers left out)."""
    return [(r.offset, r.key, r.value) for h, view in batches(log) if not h.is_control for r in iter_records(view)]


def markers(log: Log) -> list[tuple[int, bool]]:
    """(offset, has a delete horizon) of every control batch left."""
    return [(h.base_offset, bool(h.attributes & 0x40)) for h, _ in batches(log) if h.is_control]


def txnindex_entries(log: Log) -> list[tuple[int, int, int]]:
    return [(t.producer_id, t.first_offset, t.last_offset) for t in log.collect_aborted_transactions(0, 1 << 40)]


def test_aborted_data_goes_at_once_and_its_marker_after_delete_retention(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(compacted(delete_retention_ms=RETENTION))
    cleaner = LogCleaner(REAL_FS, clock)
    log.append_as_leader(keyed([(b"a", b"plain-a")]), 0)  # 0
    txn(log, 7, 0, [(b"a", b"aborted-a"), (b"b", b"aborted-b")])  # 1-2
    txn(log, 8, 0, [(b"c", b"committed-c")])  # 3
    abort_at = end(log, 7, commit=False)  # 4
    commit_at = end(log, 8, commit=True)  # 5
    log.append_as_leader(keyed([(b"c", b"plain-c")]), 0)  # 6: supersedes the committed c
    seal(log)
    assert txnindex_entries(log) == [(7, 1, abort_at)]

    assert cleaner.clean(log, None) is not None
    # The aborted records went (and did not supersede "plain-a"); the committed c was superseded by a
    # later plain c, as any record is. Markers stay this time: the cleaning met their transactions' data.
    assert data(log) == [
        (0, b"a", b"plain-a"),
        (6, b"c", b"plain-c"),
    ]
    assert markers(log) == [(abort_at, False), (commit_at, False)]
    assert txnindex_entries(log) == [(7, 1, abort_at)]  # the kept ABORT marker keeps its entry
    assert any(n.endswith(".txnindex") for n in os.listdir(log.directory))

    # Each producer's last batch stays (as an empty batch) so its state survives a restart, and with it
    # its marker (Kafka's rule); once both producers wrote again, their transactions have no data left.
    log.append_as_leader(keyed([(b"d", b"d7")], producer=(7, 0, 2)), 0)
    log.append_as_leader(keyed([(b"e", b"e8")], producer=(8, 0, 1)), 0)
    seal(log)
    clock.advance(1)
    assert cleaner.clean(log, 0) is not None  # the empty batches go; the markers met them once more
    assert [h.base_offset for h, _ in batches(log) if h.records_count == 0] == []
    assert markers(log) == [(abort_at, False), (commit_at, False)]
    clock.advance(1)
    assert cleaner.clean(log, 0) is not None  # no data of either transaction left: horizons set
    assert markers(log) == [(abort_at, True), (commit_at, True)]
    assert txnindex_entries(log) == []
    assert log.producer_state.first_undecided_offset() is None
    # A rewritten marker still closes its transaction when the state is rebuilt from the log.
    log.close(snapshot=False)
    for name in os.listdir(log.directory):
        if name.endswith(".snapshot"):
            os.remove(os.path.join(log.directory, name))
    log = open_log(compacted(delete_retention_ms=RETENTION), clean=False)
    log.set_high_watermark(log.log_end_offset)
    assert log.producer_state.first_undecided_offset() is None
    assert log.last_stable_offset == log.high_watermark

    clock.advance(RETENTION)
    assert cleaner.clean(log, 0) is not None  # past the horizon: the markers go
    assert markers(log) == []
    assert [v for _, _, v in data(log)] == [b"plain-a", b"plain-c", b"d7", b"e8"]
    log.close()


def test_an_open_transaction_is_never_cleaned(open_log: OpenLog, clock: Clock) -> None:
    log = open_log(compacted())
    txn(log, 7, 0, [(b"a", b"pending")])  # 0: open
    log.append_as_leader(keyed([(b"b", b"x")]), 0)
    log.append_as_leader(keyed([(b"b", b"y")]), 0)
    seal(log)
    assert log.last_stable_offset == 0
    assert LogCleaner(REAL_FS, clock).clean(log, None) is None  # nothing below the LSO
    end(log, 7, commit=False)
    seal(log)
    assert LogCleaner(REAL_FS, clock).clean(log, None) is not None
    assert [v for _, _, v in data(log)] == [b"y"]


def test_a_restart_after_compaction_keeps_the_lso_and_the_aborted_list(open_log: OpenLog, clock: Clock) -> None:
    config = compacted()
    log = open_log(config)
    txn(log, 7, 0, [(b"a", b"aborted")])
    log.append_as_leader(keyed([(b"b", b"x")]), 0)
    abort_at = end(log, 7, commit=False)
    seal(log)
    LogCleaner(REAL_FS, clock).clean(log, None)
    log.flush()
    log.close(snapshot=False)
    for name in os.listdir(log.directory):  # no snapshot: the producer state comes from the cleaned log
        if name.endswith(".snapshot"):
            os.remove(os.path.join(log.directory, name))
    again = open_log(config, clean=False)
    again.set_high_watermark(again.log_end_offset)
    assert again.last_stable_offset == again.log_end_offset  # the kept marker closes the transaction
    assert txnindex_entries(again) == [(7, 0, abort_at)]


@pytest.mark.parametrize("crash_suffix", [".log.swap", ".txnindex.swap"])
def test_a_crash_during_the_swap_keeps_the_txnindex_right(crash_suffix: str, open_log: OpenLog, clock: Clock) -> None:
    """Recovery trusts the segments below the recovery point: their .txnindex must come through the
    swap (a leftover old entry, or a lost new one, would be wrong)."""

    class CrashingFs(FileSystem):
        crashed = False

        def rename(self, src: str, dst: str) -> None:
            if not self.crashed and src.endswith(crash_suffix):
                self.crashed = True
                raise OSError(f"crash while renaming {src}")
            super().rename(src, dst)

    fs = CrashingFs()
    config = compacted(segment_bytes=300)
    log = open_log(config, fs=fs)
    txn(log, 7, 0, [(b"a", b"aborted")])  # 0
    log.append_as_leader(keyed([(b"b", b"x")]), 0)
    txn(log, 8, 0, [(b"c", b"kept")])
    abort_7 = end(log, 7, commit=False)
    end(log, 8, commit=True)
    for i in range(6):
        log.append_as_leader(keyed([(b"b", b"y%d" % i)]), 0)
    seal(log)
    assert len(log.segments) > 2
    log.flush()
    with pytest.raises((StorageError, OSError)):
        LogCleaner(fs, clock).clean(log, None)
    assert fs.crashed
    again = open_log(config, clean=False, recovery_point=log.log_end_offset)
    again.set_high_watermark(again.log_end_offset)
    assert txnindex_entries(again) == [(7, 0, abort_7)]
    assert not [n for n in os.listdir(again.directory) if n.endswith((".cleaned", ".swap", ".deleted"))]
    values = [v for _, _, v in data(again)]
    assert b"kept" in values and b"y5" in values

"""Transactional producers: open transactions, markers, the first unstable offset, aborted txns."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.records.header import Compression, InvalidRecordBatch
from storage.producer.state import (
    AbortedTxn,
    AppendOrigin,
    EndTxnMarker,
    InvalidProducerEpoch,
    InvalidTxnState,
    TransactionCoordinatorFenced,
    read_end_txn_marker,
)
from tests.storage.test_producer_state_support import (
    TS,
    Log,
    control_batch,
    control_batch_bytes,
    data_batch,
)

COMMIT = EndTxnMarker(is_commit=True, coordinator_epoch=0)
ABORT = EndTxnMarker(is_commit=False, coordinator_epoch=0)
COORD = AppendOrigin.COORDINATOR


@pytest.fixture
def log(tmp_path: Path) -> Log:
    return Log(tmp_path)


def test_a_committed_transaction_is_unstable_until_its_marker_is_below_the_high_watermark(log: Log) -> None:
    log.append(data_batch(-1, -1, -1, offset=0))
    assert log.psm.first_unstable_offset() is None
    log.append(data_batch(7, 0, 0, offset=1, count=2, txn=True))
    log.append(data_batch(7, 0, 2, offset=3, txn=True))
    assert log.psm.first_unstable_offset() == 1
    assert log.psm.first_undecided_offset() == 1
    entry = log.psm.last_entry(7)
    assert entry is not None and entry.current_txn_first_offset == 1
    log.append(control_batch(7, 0, offset=4), COMMIT, COORD)
    assert entry.current_txn_first_offset is None
    assert log.psm.first_undecided_offset() is None
    assert log.psm.first_unstable_offset() == 1  # the marker is not replicated yet
    log.psm.on_high_watermark_updated(4)
    assert log.psm.first_unstable_offset() == 1
    log.psm.on_high_watermark_updated(5)
    assert log.psm.first_unstable_offset() is None
    assert log.aborted == []


def test_aborts_yield_transaction_index_entries_with_the_lso_after_the_marker(log: Log) -> None:
    log.append(data_batch(1, 0, 0, offset=0, txn=True))
    log.append(data_batch(2, 0, 0, offset=1, txn=True))
    log.append(data_batch(1, 0, 1, offset=2, txn=True))
    log.append(control_batch(1, 0, offset=3), ABORT, COORD)
    # producer 2's open transaction (from offset 1) holds the LSO back
    assert log.aborted == [AbortedTxn(producer_id=1, first_offset=0, last_offset=3, last_stable_offset=1)]
    assert log.psm.first_undecided_offset() == 1
    log.append(control_batch(2, 0, offset=4), ABORT, COORD)
    assert log.aborted[1] == AbortedTxn(2, 1, 4, 5)
    assert log.psm.first_unstable_offset() == 0
    log.psm.on_high_watermark_updated(5)
    assert log.psm.first_unstable_offset() is None


def test_a_new_transaction_after_a_marker_starts_at_its_first_batch(log: Log) -> None:
    log.append(data_batch(7, 0, 0, offset=0, txn=True))
    log.append(control_batch(7, 0, offset=1), COMMIT, COORD)
    log.append(data_batch(7, 0, 1, offset=2, txn=True))
    assert [t.first_offset for t in log.psm.ongoing_transactions()] == [2]
    assert log.psm.first_unstable_offset() == 0  # the first is committed but not yet replicated


def test_non_transactional_data_inside_an_open_transaction_is_refused(log: Log) -> None:
    log.append(data_batch(7, 0, 0, offset=0, txn=True))
    with pytest.raises(InvalidTxnState, match="producer 7 at offset 1"):
        log.append(data_batch(7, 0, 1, offset=1))
    entry = log.psm.last_entry(7)
    assert entry is not None and entry.last_seq == 0


def test_a_marker_from_an_older_coordinator_is_fenced(log: Log) -> None:
    log.append(data_batch(7, 0, 0, offset=0, txn=True))
    log.append(control_batch(7, 0, offset=1), EndTxnMarker(True, 5), COORD)
    log.append(data_batch(7, 0, 1, offset=2, txn=True))
    with pytest.raises(TransactionCoordinatorFenced, match="coordinator epoch 4, older than 5"):
        log.append(control_batch(7, 0, offset=3), EndTxnMarker(True, 4), COORD)
    # a follower takes it as the leader wrote it
    log.append(control_batch(7, 0, offset=3), EndTxnMarker(True, 4), AppendOrigin.REPLICATION)
    assert log.psm.first_undecided_offset() is None


def test_a_marker_with_an_older_producer_epoch_is_fenced(log: Log) -> None:
    log.append(data_batch(7, 3, 0, offset=0, txn=True))
    with pytest.raises(InvalidProducerEpoch):
        log.append(control_batch(7, 2, offset=1), ABORT, COORD)


def test_a_marker_bumping_the_epoch_clears_the_duplicate_window(log: Log) -> None:
    log.append(data_batch(7, 0, 0, offset=0, txn=True))
    log.append(control_batch(7, 1, offset=1, ts=TS + 5), ABORT, COORD)
    entry = log.psm.last_entry(7)
    assert entry is not None
    assert (entry.producer_epoch, entry.is_empty, entry.last_timestamp) == (1, True, TS + 5)
    log.append(data_batch(7, 1, 0, offset=2, txn=True))


def test_a_marker_without_data_changes_no_transaction(log: Log) -> None:
    log.append(control_batch(7, 0, offset=0), ABORT, COORD)
    assert log.aborted == [] and log.psm.first_unstable_offset() is None
    entry = log.psm.last_entry(7)
    assert entry is not None and entry.coordinator_epoch == 0


def test_an_empty_control_batch_is_ignored(log: Log) -> None:
    log.append(data_batch(7, 0, 0, offset=0, txn=True))
    log.append(control_batch(7, 0, offset=1, records=0), None, COORD)
    assert log.psm.first_undecided_offset() == 0


def test_a_producer_inside_a_transaction_does_not_expire(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.append(data_batch(1, 0, 0, offset=0, txn=True))
    log.append(data_batch(2, 0, 0, offset=1))
    assert log.psm.remove_expired(now_ms=TS + 10 * 86_400_000) == [2]
    assert log.psm.last_entry(1) is not None


def test_the_marker_is_read_from_a_control_batch() -> None:
    buf = control_batch_bytes(7, 2, 40, EndTxnMarker(is_commit=False, coordinator_epoch=9))
    assert read_end_txn_marker(b"\x00" * 5 + buf, pos=5) == EndTxnMarker(False, 9)
    assert read_end_txn_marker(control_batch_bytes(7, 2, 40, COMMIT)) == COMMIT


def test_a_compressed_or_truncated_control_batch_is_the_writers_fault() -> None:
    with pytest.raises(InvalidRecordBatch, match="compressed with GZIP"):
        read_end_txn_marker(control_batch_bytes(7, 2, 40, COMMIT, attributes=Compression.GZIP))
    buf = control_batch_bytes(7, 2, 40, COMMIT)
    with pytest.raises(InvalidRecordBatch):
        read_end_txn_marker(buf[:-9])

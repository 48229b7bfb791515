"""Idempotent producers: sequences, epochs, duplicates, wrap-around, origins, expiration."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.records.header import BatchHeader
from storage.errors import StorageError
from storage.producer.state import (
    AppendOrigin,
    InvalidProducerEpoch,
    OutOfOrderSequence,
    ProducerStateError,
    ProducerStateManager,
)
from tests.storage.test_producer_state_support import TS, Log, control_batch, data_batch

MAX_SEQ = 2**31 - 1


@pytest.fixture
def log(tmp_path: Path) -> Log:
    return Log(tmp_path)


def test_first_batch_of_a_new_producer_is_remembered(log: Log) -> None:
    assert log.append(data_batch(7, 0, 0, offset=0, count=3)) is None
    entry = log.psm.last_entry(7)
    assert entry is not None
    assert (entry.producer_epoch, entry.first_seq, entry.last_seq) == (0, 0, 2)
    assert (entry.first_data_offset, entry.last_data_offset, entry.last_timestamp) == (0, 2, TS)
    assert log.psm.map_end_offset == 3
    assert log.psm.last_entry(8) is None


def test_consecutive_sequences_are_accepted_and_a_gap_is_out_of_order(log: Log) -> None:
    log.append(data_batch(7, 0, 0, offset=0, count=2))
    log.append(data_batch(7, 0, 2, offset=2, count=1))
    with pytest.raises(OutOfOrderSequence, match=r"sequence 4.*last sequence written is 2"):
        log.append(data_batch(7, 0, 4, offset=3))
    # the rejected batch left no trace: the right sequence still goes in
    log.append(data_batch(7, 0, 3, offset=3))
    entry = log.psm.last_entry(7)
    assert entry is not None and entry.last_seq == 3
    assert log.psm.map_end_offset == 4


def test_a_sequence_going_backwards_that_is_no_duplicate_is_out_of_order(log: Log) -> None:
    log.append(data_batch(7, 0, 0, offset=0, count=2))
    log.append(data_batch(7, 0, 2, offset=2, count=2))
    with pytest.raises(OutOfOrderSequence):
        log.append(data_batch(7, 0, 1, offset=4, count=2))  # overlaps but is no batch we wrote


def test_a_retry_of_any_of_the_last_five_batches_returns_its_original_offsets(log: Log) -> None:
    offset = 0
    for seq in range(0, 12, 2):  # six batches of two records at offsets 0, 2, ... 10
        log.append(data_batch(7, 0, seq, offset=offset, count=2))
        offset += 2 + 1  # another producer's record between them
        log.append(data_batch(-1, -1, -1, offset=offset - 1))
    for i, seq in enumerate(range(2, 12, 2), start=1):
        duplicate = log.append(data_batch(7, 0, seq, offset=99, count=2))
        assert duplicate is not None
        assert (duplicate.first_offset, duplicate.last_offset) == (3 * i, 3 * i + 1)
        assert (duplicate.first_seq, duplicate.last_seq) == (seq, seq + 1)
    assert log.end_offset == 18  # nothing was appended twice
    with pytest.raises(OutOfOrderSequence):  # the sixth-newest batch is out of the window
        log.append(data_batch(7, 0, 0, offset=18, count=2))


def test_a_same_start_but_different_length_is_not_a_duplicate(log: Log) -> None:
    log.append(data_batch(7, 0, 0, offset=0, count=2))
    with pytest.raises(OutOfOrderSequence):
        log.append(data_batch(7, 0, 0, offset=2, count=3))


def test_an_older_epoch_is_fenced_even_for_a_duplicate_sequence(log: Log) -> None:
    log.append(data_batch(7, 3, 0, offset=0))
    log.append(data_batch(7, 4, 0, offset=1))
    with pytest.raises(InvalidProducerEpoch, match=r"epoch of producer 7 at offset 2 is 3, older .* 4"):
        log.append(data_batch(7, 3, 1, offset=2))
    with pytest.raises(InvalidProducerEpoch):
        log.append(data_batch(7, 3, 0, offset=2))


def test_a_new_epoch_must_start_at_sequence_zero_and_forgets_the_old_batches(log: Log) -> None:
    log.append(data_batch(7, 0, 0, offset=0, count=5))
    with pytest.raises(OutOfOrderSequence, match=r"opens epoch 1 .* with sequence 5, expected 0"):
        log.append(data_batch(7, 1, 5, offset=5))
    log.append(data_batch(7, 1, 0, offset=5))
    entry = log.psm.last_entry(7)
    assert entry is not None and entry.producer_epoch == 1 and len(entry.batches) == 1
    # a retry of the old epoch's batch is no longer a duplicate: it is fenced
    with pytest.raises(InvalidProducerEpoch):
        log.append(data_batch(7, 0, 0, offset=6, count=5))


def test_an_unknown_producer_may_start_at_any_sequence(log: Log) -> None:
    """Current Kafka: its earlier data may have been deleted by retention or DeleteRecords."""
    log.append(data_batch(7, 2, 500, offset=0, count=2))
    log.append(data_batch(7, 2, 502, offset=2))
    with pytest.raises(OutOfOrderSequence):
        log.append(data_batch(7, 2, 504, offset=3))


def test_sequences_wrap_from_int_max_to_zero(log: Log) -> None:
    log.append(data_batch(7, 0, MAX_SEQ - 1, offset=0, count=2))
    log.append(data_batch(7, 0, 0, offset=2))
    with pytest.raises(OutOfOrderSequence):
        log.append(data_batch(7, 0, 2, offset=3))
    entry = log.psm.last_entry(7)
    assert entry is not None and entry.last_seq == 0


def test_a_batch_across_the_wrap_is_followed_and_recognised_as_duplicate(log: Log) -> None:
    crossing = data_batch(7, 0, MAX_SEQ - 1, offset=0, count=4)  # sequences MAX-1, MAX, 0, 1
    log.append(crossing)
    entry = log.psm.last_entry(7)
    assert entry is not None and (entry.first_seq, entry.last_seq) == (MAX_SEQ - 1, 1)
    duplicate = log.append(data_batch(7, 0, MAX_SEQ - 1, offset=9, count=4))
    assert duplicate is not None and (duplicate.first_offset, duplicate.last_offset) == (0, 3)
    log.append(data_batch(7, 0, 2, offset=4))


def test_replicated_batches_are_not_checked(log: Log) -> None:
    log.append(data_batch(7, 5, 0, offset=0), origin=AppendOrigin.REPLICATION)
    log.append(data_batch(7, 5, 40, offset=1), origin=AppendOrigin.REPLICATION)
    log.append(data_batch(7, 4, 0, offset=2), origin=AppendOrigin.REPLICATION)
    # and the follower takes a repeated batch as given: no duplicate detection
    assert log.append(data_batch(7, 4, 0, offset=3), origin=AppendOrigin.REPLICATION) is None
    entry = log.psm.last_entry(7)
    assert entry is not None and entry.producer_epoch == 4 and entry.last_data_offset == 3


def test_the_coordinator_is_checked_for_epoch_but_not_for_sequence(log: Log) -> None:
    log.append(data_batch(7, 5, 0, offset=0), origin=AppendOrigin.COORDINATOR)
    log.append(data_batch(7, 5, 40, offset=1), origin=AppendOrigin.COORDINATOR)
    with pytest.raises(InvalidProducerEpoch):
        log.append(data_batch(7, 4, 41, offset=2), origin=AppendOrigin.COORDINATOR)


def test_batches_without_a_producer_id_are_not_tracked(log: Log) -> None:
    log.append(data_batch(-1, -1, -1, offset=0, count=3))
    assert log.psm.producer_id_count == 0
    assert log.psm.is_empty()
    assert log.psm.map_end_offset == 3


def test_an_append_of_several_batches_is_checked_as_a_chain_and_applied_whole(tmp_path: Path) -> None:
    psm = ProducerStateManager(tmp_path)
    append = psm.prepare_append(AppendOrigin.CLIENT)
    append.append(data_batch(7, 0, 0, offset=0, count=2))
    append.append(data_batch(7, 0, 2, offset=2))  # follows the first batch of the same append
    psm.commit(append)
    entry = psm.last_entry(7)
    assert entry is not None and entry.last_seq == 2

    append = psm.prepare_append(AppendOrigin.CLIENT)
    append.append(data_batch(7, 0, 3, offset=3))
    append.append(data_batch(8, 0, 0, offset=4))
    with pytest.raises(OutOfOrderSequence):
        append.append(data_batch(7, 0, 5, offset=5))
    # the append is rejected as a whole: nothing of it was applied
    assert entry.last_seq == 2 and psm.last_entry(8) is None and psm.map_end_offset == 3


def test_a_stale_or_duplicate_append_cannot_be_committed(tmp_path: Path) -> None:
    psm = ProducerStateManager(tmp_path)
    first = psm.prepare_append(AppendOrigin.CLIENT)
    second = psm.prepare_append(AppendOrigin.CLIENT)
    first.append(data_batch(7, 0, 0, offset=0))
    second.append(data_batch(7, 0, 0, offset=0))
    psm.commit(first)
    with pytest.raises(ValueError, match="prepared before"):
        psm.commit(second)
    retry = psm.prepare_append(AppendOrigin.CLIENT)
    assert retry.append(data_batch(7, 0, 0, offset=1)) is not None
    with pytest.raises(ValueError, match="duplicate"):
        psm.commit(retry)


def test_a_control_batch_with_records_needs_its_marker(log: Log) -> None:
    with pytest.raises(ValueError, match="needs its end-transaction marker"):
        log.append(control_batch(7, 0, offset=0), origin=AppendOrigin.COORDINATOR)


def test_producers_expire_after_the_expiration_time_since_their_last_batch(tmp_path: Path) -> None:
    clock = [TS]
    psm = ProducerStateManager(tmp_path, producer_id_expiration_ms=60_000, time_ms=lambda: clock[0])
    for pid, ts, offset in ((1, TS, 0), (2, TS + 30_000, 1)):
        append = psm.prepare_append(AppendOrigin.CLIENT)
        append.append(data_batch(pid, 0, 0, offset=offset, ts=ts))
        psm.commit(append)
    clock[0] = TS + 59_999
    assert psm.remove_expired() == []
    clock[0] = TS + 60_000
    assert psm.remove_expired() == [1]
    assert psm.last_entry(1) is None and psm.last_entry(2) is not None
    assert psm.remove_expired(now_ms=TS + 90_000) == [2]
    # an expired producer is unknown again: it may go on at any sequence
    append = psm.prepare_append(AppendOrigin.CLIENT)
    append.append(data_batch(1, 0, 9, offset=2))


def test_default_expiration_is_kafkas_one_day(tmp_path: Path) -> None:
    psm = ProducerStateManager(tmp_path)
    assert psm.producer_id_expiration_ms == 86_400_000
    append = psm.prepare_append(AppendOrigin.CLIENT)
    append.append(data_batch(1, 0, 0, offset=0))
    psm.commit(append)
    assert psm.remove_expired(now_ms=TS + 86_399_999) == []
    assert psm.remove_expired(now_ms=TS + 86_400_000) == [1]


def test_producer_state_errors_are_storage_errors() -> None:
    assert issubclass(ProducerStateError, StorageError)
    assert issubclass(OutOfOrderSequence, ProducerStateError)


def test_duplicate_lookup_matches_epoch_and_exact_range(log: Log) -> None:
    log.append(data_batch(7, 1, 0, offset=0, count=3))
    probe: BatchHeader = data_batch(7, 1, 0, offset=50, count=3)
    found = log.psm.find_duplicate(probe)
    assert found is not None and found.first_offset == 0
    assert log.psm.find_duplicate(data_batch(7, 2, 0, offset=50, count=3)) is None
    assert log.psm.find_duplicate(data_batch(8, 1, 0, offset=50, count=3)) is None

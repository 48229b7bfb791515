"""What a partition remembers about one producer, and the checks a new batch of it must pass.

Sequences are per producer and partition, 0 .. 2**31 - 1, and wrap to 0 after the top (Kafka's
``DefaultRecordBatch.incrementSequence``). A batch's last sequence is its first plus its last offset
delta, so a batch's sequence range and offset range have the same length.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from protocol.records.header import NO_PRODUCER_EPOCH, NO_SEQUENCE, NO_TIMESTAMP, BatchHeader
from storage.producer.errors import (
    InvalidProducerEpoch,
    InvalidTxnState,
    OutOfOrderSequence,
    TransactionCoordinatorFenced,
)
from storage.producer.txn import CompletedTxn, EndTxnMarker

MAX_SEQUENCE = 0x7FFFFFFF
NUM_BATCHES_TO_RETAIN = 5  # Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN: the duplicate window


def decrement_sequence(sequence: int, delta: int) -> int:
    """``sequence - delta`` on the wrapping sequence circle."""
    return (sequence - delta) % (MAX_SEQUENCE + 1)


def in_sequence(last_seq: int, next_seq: int) -> bool:
    """Whether ``next_seq`` directly follows ``last_seq``, wrapping from 2**31 - 1 to 0."""
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == MAX_SEQUENCE)


class AppendOrigin(enum.Enum):
    """Who is appending, which decides how much is checked (Kafka's AppendOrigin).

    CLIENT: a produce request on the leader: epoch, sequence and transaction state are checked, and
    duplicates are detected. COORDINATOR: the group or transaction coordinator writing on the leader
    (offset commits, transaction markers): epoch (and coordinator epoch) checked, no sequences.
    REPLICATION: a follower's fetch, or rebuilding state from the log: nothing is checked except that a
    producer inside a transaction does not write non-transactional data (as in Kafka).
    """

    CLIENT = "client"
    COORDINATOR = "coordinator"
    REPLICATION = "replication"


@dataclass(frozen=True, slots=True)
class BatchMetadata:
    """One of the last batches a producer wrote: enough to recognise and answer a retried duplicate."""

    last_seq: int
    last_offset: int
    offset_delta: int
    timestamp: int

    @property
    def first_seq(self) -> int:
        return decrement_sequence(self.last_seq, self.offset_delta)

    @property
    def first_offset(self) -> int:
        return self.last_offset - self.offset_delta


@dataclass(slots=True)
class ProducerStateEntry:
    """The state of one producer id: epoch, last batches (oldest first), transaction and coordinator.

    ``batches`` holds at most NUM_BATCHES_TO_RETAIN entries, all of the current epoch: a new epoch
    clears them. ``current_txn_first_offset`` is the first offset of the producer's open transaction.
    """

    producer_id: int
    producer_epoch: int = NO_PRODUCER_EPOCH
    coordinator_epoch: int = -1
    last_timestamp: int = NO_TIMESTAMP
    current_txn_first_offset: int | None = None
    batches: deque[BatchMetadata] = field(default_factory=lambda: deque(maxlen=NUM_BATCHES_TO_RETAIN))

    @property
    def is_empty(self) -> bool:
        return not self.batches

    @property
    def first_seq(self) -> int:
        return self.batches[0].first_seq if self.batches else NO_SEQUENCE

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else NO_SEQUENCE

    @property
    def first_data_offset(self) -> int:
        return self.batches[0].first_offset if self.batches else -1

    @property
    def last_data_offset(self) -> int:
        return self.batches[-1].last_offset if self.batches else -1

    @property
    def last_offset_delta(self) -> int:
        return self.batches[-1].offset_delta if self.batches else 0

    def find_duplicate(self, header: BatchHeader) -> BatchMetadata | None:
        """The retained batch with exactly this batch's epoch and sequence range, if any."""
        if header.producer_epoch != self.producer_epoch or not self.batches:
            return None
        first, last = header.base_sequence, header.last_sequence
        if in_sequence(self.batches[-1].last_seq, first):
            return None  # the usual case: the next batch (five retained batches never wrap around)
        for batch in self.batches:
            if batch.first_seq == first and batch.last_seq == last:
                return batch
        return None

    def copy_without_batches(self) -> ProducerStateEntry:
        return ProducerStateEntry(
            self.producer_id,
            self.producer_epoch,
            self.coordinator_epoch,
            self.last_timestamp,
            self.current_txn_first_offset,
        )

    def maybe_update_epoch(self, epoch: int) -> None:
        if epoch != self.producer_epoch:
            self.batches.clear()
            self.producer_epoch = epoch

    def add_batch(self, epoch: int, batch: BatchMetadata) -> None:
        self.maybe_update_epoch(epoch)
        self.batches.append(batch)
        self.last_timestamp = batch.timestamp

    def merge(self, newer: ProducerStateEntry) -> None:
        """Take over ``newer`` (built on top of this entry by an append): its epoch, batches and rest."""
        self.maybe_update_epoch(newer.producer_epoch)
        self.batches.extend(newer.batches)
        self.coordinator_epoch = newer.coordinator_epoch
        self.current_txn_first_offset = newer.current_txn_first_offset
        self.last_timestamp = newer.last_timestamp


class ProducerAppendInfo:
    """Checks the batches one append brings for one producer, and builds its next state.

    Starts from the producer's committed entry (``current``) and accumulates in ``updated``; nothing is
    visible to the manager until the append is committed, so a rejected append leaves no trace.
    """

    __slots__ = ("current", "origin", "producer_id", "started_txns", "updated")

    def __init__(self, producer_id: int, current: ProducerStateEntry | None, origin: AppendOrigin) -> None:
        self.producer_id = producer_id
        self.current = current if current is not None else ProducerStateEntry(producer_id)
        self.origin = origin
        self.updated = self.current.copy_without_batches()
        self.started_txns: list[int] = []  # first offsets of transactions this append opens

    def append(self, header: BatchHeader, marker: EndTxnMarker | None) -> CompletedTxn | None:
        """Check one batch of this producer and add it; returns the transaction a marker closes."""
        if not header.is_control:
            self._append_data_batch(header)
        elif marker is not None:  # an empty control batch (left by compaction) changes nothing
            return self._append_end_txn_marker(header, marker)
        return None

    def _where(self, header: BatchHeader) -> str:
        return f"producer {self.producer_id} at offset {header.base_offset}"

    def _check_epoch(self, header: BatchHeader) -> None:
        current = self.updated.producer_epoch
        if header.producer_epoch < current and self.origin is not AppendOrigin.REPLICATION:
            raise InvalidProducerEpoch(
                f"epoch of {self._where(header)} is {header.producer_epoch}, "
                f"older than the last epoch written, {current}"
            )

    def _check_sequence(self, header: BatchHeader) -> None:
        first_seq = header.base_sequence
        if header.producer_epoch != self.updated.producer_epoch:
            # A new epoch starts over at 0; a producer we know nothing of may start anywhere (its data
            # may have been deleted by retention or DeleteRecords), as in current Kafka.
            if first_seq != 0 and self.updated.producer_epoch != NO_PRODUCER_EPOCH:
                raise OutOfOrderSequence(
                    f"{self._where(header)} opens epoch {header.producer_epoch} "
                    f"(after epoch {self.updated.producer_epoch}) with sequence {first_seq}, expected 0"
                )
            return
        if not self.updated.is_empty:
            last_seq = self.updated.last_seq
        elif header.producer_epoch == self.current.producer_epoch:
            last_seq = self.current.last_seq
        else:
            last_seq = NO_SEQUENCE
        if self.current.producer_epoch != NO_PRODUCER_EPOCH and not in_sequence(last_seq, first_seq):
            raise OutOfOrderSequence(
                f"{self._where(header)} sent sequence {first_seq}, but the last sequence written is {last_seq}"
            )

    def _append_data_batch(self, header: BatchHeader) -> None:
        self._check_epoch(header)
        if self.origin is AppendOrigin.CLIENT:
            self._check_sequence(header)
        first_offset = header.base_offset
        metadata = BatchMetadata(
            header.last_sequence, header.last_offset, header.last_offset - first_offset, header.max_timestamp
        )
        self.updated.add_batch(header.producer_epoch, metadata)
        in_txn = self.updated.current_txn_first_offset is not None
        if in_txn and not header.is_transactional:
            raise InvalidTxnState(f"{self._where(header)} wrote a non-transactional batch inside its open transaction")
        if not in_txn and header.is_transactional:
            self.updated.current_txn_first_offset = first_offset
            self.started_txns.append(first_offset)

    def _append_end_txn_marker(self, header: BatchHeader, marker: EndTxnMarker) -> CompletedTxn | None:
        self._check_epoch(header)
        if self.updated.coordinator_epoch > marker.coordinator_epoch and self.origin is not AppendOrigin.REPLICATION:
            raise TransactionCoordinatorFenced(
                f"marker for {self._where(header)} has coordinator epoch {marker.coordinator_epoch}, "
                f"older than {self.updated.coordinator_epoch}"
            )
        first = self.updated.current_txn_first_offset
        # A marker without data in this partition changes nothing in the LSO or the transaction index.
        completed = (
            None if first is None else CompletedTxn(self.producer_id, first, header.base_offset, not marker.is_commit)
        )
        self.updated.maybe_update_epoch(header.producer_epoch)
        self.updated.coordinator_epoch = marker.coordinator_epoch
        self.updated.current_txn_first_offset = None
        self.updated.last_timestamp = header.max_timestamp
        return completed

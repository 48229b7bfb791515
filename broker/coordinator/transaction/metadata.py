"""One transactional id's state (Kafka's TransactionMetadata) and the changes prepared to it.

A change is prepared as a ``TxnTransit`` (the whole next state), written to ``__transaction_state``,
and applied only once that record is committed (``complete``); meanwhile ``pending`` holds the
target state, and any other request for the id gets CONCURRENT_TRANSACTIONS. A failed write drops
the transit (``abort_pending``) and leaves the state as it was. Every applied change is checked
against the transition table (``state.VALID_PREVIOUS``).

Transaction version 2 (EndTxn v5, KIP-890 part 2): every end of a transaction bumps the epoch
(``prepare_end(..., bump=True)``: the Prepare* record carries epoch + 1, and the markers are written
at it); when that exhausts the epochs, the record also carries the next producer id, which the
Complete* record makes current at epoch 0. ``client_version`` is the transaction version of the last
client change (written in v1 records).

Not thread-safe: the event loop owns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from broker.coordinator.transaction import records
from broker.coordinator.transaction.state import TxnState, check_transition

TopicPartition = tuple[str, int]
NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
MAX_EPOCH = 32767  # Short.MAX_VALUE: an epoch this close to it means a new producer id


@dataclass(frozen=True, slots=True)
class TxnTransit:
    """The state a transactional id moves to once its record is committed."""

    producer_id: int
    last_producer_id: int
    producer_epoch: int
    last_producer_epoch: int
    timeout_ms: int
    state: TxnState
    partitions: frozenset[TopicPartition]
    start_ms: int
    update_ms: int
    next_producer_id: int = NO_PRODUCER_ID
    client_version: int = 0

    def record_value(self) -> records.TransactionLogValue:
        return records.TransactionLogValue(
            producer_id=self.producer_id,
            previous_producer_id=self.last_producer_id,
            next_producer_id=self.next_producer_id,
            client_transaction_version=self.client_version,
            producer_epoch=self.producer_epoch,
            transaction_timeout_ms=self.timeout_ms,
            transaction_status=self.state.id,
            transaction_partitions=records.partitions_value(set(self.partitions)),
            transaction_last_update_timestamp_ms=self.update_ms,
            transaction_start_timestamp_ms=self.start_ms,
        )


@dataclass(slots=True, eq=False)
class TransactionMetadata:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TxnState = TxnState.EMPTY
    last_producer_id: int = NO_PRODUCER_ID
    last_producer_epoch: int = NO_PRODUCER_EPOCH
    partitions: set[TopicPartition] = field(default_factory=set)
    start_ms: int = -1
    update_ms: int = -1
    pending: TxnState | None = None  # the state a write in flight moves to
    next_producer_id: int = NO_PRODUCER_ID  # transaction version 2: the id after an exhausted epoch
    client_version: int = 0  # transaction version of the client (2: EndTxn v5)

    @classmethod
    def from_record(cls, transactional_id: str, v: records.TransactionLogValue) -> TransactionMetadata:
        parts = {(p.topic, i) for p in v.transaction_partitions or [] for i in p.partition_ids}
        return cls(
            transactional_id, v.producer_id, v.producer_epoch, v.transaction_timeout_ms,
            TxnState.from_id(v.transaction_status), last_producer_id=v.previous_producer_id, partitions=parts,
            start_ms=v.transaction_start_timestamp_ms, update_ms=v.transaction_last_update_timestamp_ms,
            next_producer_id=v.next_producer_id, client_version=v.client_transaction_version,
        )  # fmt: skip

    def _transit(self, state: TxnState, now_ms: int, **changes: Any) -> TxnTransit:
        """The current state with ``state``, the update time ``now_ms`` and ``changes``."""
        current = TxnTransit(
            self.producer_id, self.last_producer_id, self.producer_epoch, self.last_producer_epoch,
            self.timeout_ms, state, frozenset(self.partitions), self.start_ms, now_ms,
            self.next_producer_id, self.client_version,
        )  # fmt: skip
        return replace(current, **changes)

    # -- preparing changes -------------------------------------------------------------------------
    def prepare_epoch_bump(self, timeout_ms: int, now_ms: int, new_producer_id: int | None) -> TxnTransit:
        """InitProducerId on a completed (or new) id: the next epoch, or ``new_producer_id`` at epoch 0
        when given (the epoch is exhausted, or the id is new)."""
        if new_producer_id is not None:
            return self._transit(
                TxnState.EMPTY, now_ms, producer_id=new_producer_id, last_producer_id=self.producer_id,
                producer_epoch=0, last_producer_epoch=NO_PRODUCER_EPOCH, timeout_ms=timeout_ms,
                partitions=frozenset(), start_ms=-1,
            )  # fmt: skip
        return self._transit(
            TxnState.EMPTY, now_ms, producer_epoch=self.producer_epoch + 1, last_producer_epoch=self.producer_epoch,
            timeout_ms=timeout_ms, partitions=frozenset(), start_ms=-1,
        )  # fmt: skip

    def epoch_exhausted(self) -> bool:
        return self.producer_epoch >= MAX_EPOCH - 1

    def prepare_add_partitions(self, added: set[TopicPartition], now_ms: int) -> TxnTransit:
        begins = self.state is not TxnState.ONGOING
        partitions = frozenset(added if begins else self.partitions | added)
        start = now_ms if begins else self.start_ms
        return self._transit(TxnState.ONGOING, now_ms, partitions=partitions, start_ms=start)

    def prepare_fence(self, now_ms: int) -> TxnTransit:
        """An open transaction's producer is fenced (a new InitProducerId, or a timeout): its epoch is
        bumped so its requests fail, and the transaction is then aborted at the new epoch."""
        return self._transit(
            TxnState.PREPARE_EPOCH_FENCE, now_ms, producer_epoch=self.producer_epoch + 1,
            last_producer_epoch=self.producer_epoch,
        )  # fmt: skip

    def prepare_end(self, commit: bool, now_ms: int) -> TxnTransit:
        return self._transit(TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT, now_ms)

    def prepare_end_bumped(self, commit: bool, now_ms: int, next_producer_id: int | None) -> TxnTransit:
        """Transaction version 2: the end of the transaction at the next epoch (``next_producer_id``:
        the id to take afterwards, when this bump exhausts the epochs). An abort with no open
        transaction (Empty, Complete*) starts now and has no partitions."""
        open_txn = self.state is TxnState.ONGOING
        return self._transit(
            TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT, now_ms,
            producer_epoch=self.producer_epoch + 1, last_producer_epoch=self.producer_epoch,
            next_producer_id=NO_PRODUCER_ID if next_producer_id is None else next_producer_id,
            start_ms=self.start_ms if open_txn else now_ms,
            partitions=frozenset(self.partitions) if open_txn else frozenset(), client_version=2,
        )  # fmt: skip

    def prepare_complete(self, now_ms: int) -> TxnTransit:
        state = TxnState.COMPLETE_COMMIT if self.state is TxnState.PREPARE_COMMIT else TxnState.COMPLETE_ABORT
        if self.next_producer_id != NO_PRODUCER_ID:  # transaction version 2, epochs exhausted: a new id
            return self._transit(
                state, now_ms, partitions=frozenset(), producer_id=self.next_producer_id, producer_epoch=0,
                last_producer_id=self.producer_id, next_producer_id=NO_PRODUCER_ID,
            )  # fmt: skip
        return self._transit(state, now_ms, partitions=frozenset())

    def prepare_dead(self, now_ms: int) -> TxnTransit:
        return self._transit(TxnState.DEAD, now_ms, partitions=frozenset())

    # -- applying them -----------------------------------------------------------------------------
    def complete(self, transit: TxnTransit) -> None:
        """The transit's record is committed: this is the id's state now."""
        check_transition(self.transactional_id, self.state, transit.state)
        self.producer_id = transit.producer_id
        self.last_producer_id = transit.last_producer_id
        self.producer_epoch = transit.producer_epoch
        self.last_producer_epoch = transit.last_producer_epoch
        self.timeout_ms = transit.timeout_ms
        self.state = transit.state
        self.partitions = set(transit.partitions)
        self.start_ms = transit.start_ms
        self.update_ms = transit.update_ms
        self.next_producer_id = transit.next_producer_id
        self.client_version = transit.client_version
        self.pending = None

    def apply_in_memory(self, transit: TxnTransit) -> None:
        """PrepareEpochFence is never written on its own (Kafka writes the PrepareAbort that follows
        it): the bumped epoch is applied at once."""
        self.complete(transit)

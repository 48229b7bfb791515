"""The states of a transactional id and the transitions between them, written as data (Kafka's
TransactionState and its validPreviousStates).

::

    Empty --AddPartitions--> Ongoing --EndTxn(commit)--> PrepareCommit --markers written--> CompleteCommit
      ^                       |   |                                                            |
      |                       |   +--EndTxn(abort) / timeout--> PrepareAbort --markers--> CompleteAbort
      |                       +--InitProducerId (fence)--> PrepareEpochFence --> PrepareAbort  |
      +--------------------------- InitProducerId (epoch bump) --------------------------------+

    Empty / CompleteCommit / CompleteAbort --transactional.id.expiration.ms--> Dead (tombstone)
    Empty / CompleteCommit / CompleteAbort --EndTxn v5 (abort)--> PrepareAbort (transaction version 2:
        an abort with no partitions still bumps the epoch)

The byte each state is stored as in ``__transaction_state`` is Kafka's.
"""

from __future__ import annotations

import enum


class TxnState(enum.Enum):
    EMPTY = (0, "Empty")
    ONGOING = (1, "Ongoing")
    PREPARE_COMMIT = (2, "PrepareCommit")
    PREPARE_ABORT = (3, "PrepareAbort")
    COMPLETE_COMMIT = (4, "CompleteCommit")
    COMPLETE_ABORT = (5, "CompleteAbort")
    DEAD = (6, "Dead")
    PREPARE_EPOCH_FENCE = (7, "PrepareEpochFence")

    @property
    def id(self) -> int:
        return self.value[0]

    @property
    def name_(self) -> str:
        """The name Kafka shows (DescribeTransactions, ListTransactions)."""
        return self.value[1]

    def __str__(self) -> str:
        return self.value[1]

    @classmethod
    def from_id(cls, state_id: int) -> TxnState:
        for state in cls:
            if state.id == state_id:
                return state
        raise ValueError(f"unknown transaction state {state_id}")

    @classmethod
    def from_name(cls, name: str) -> TxnState | None:
        for state in cls:
            if state.name_ == name:
                return state
        return None


# For each state, the states a transactional id may enter it from.
VALID_PREVIOUS: dict[TxnState, frozenset[TxnState]] = {
    TxnState.EMPTY: frozenset({TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT}),
    TxnState.ONGOING: frozenset({TxnState.ONGOING, TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT}),
    TxnState.PREPARE_COMMIT: frozenset({TxnState.ONGOING}),
    TxnState.PREPARE_ABORT: frozenset(
        {
            TxnState.ONGOING,
            TxnState.PREPARE_EPOCH_FENCE,
            TxnState.EMPTY,
            TxnState.COMPLETE_COMMIT,
            TxnState.COMPLETE_ABORT,
        }
    ),
    TxnState.COMPLETE_COMMIT: frozenset({TxnState.PREPARE_COMMIT}),
    TxnState.COMPLETE_ABORT: frozenset({TxnState.PREPARE_ABORT}),
    TxnState.DEAD: frozenset({TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT}),
    TxnState.PREPARE_EPOCH_FENCE: frozenset({TxnState.ONGOING}),
}

# States in which a transaction is being completed: markers are (about to be) in flight.
PREPARING = frozenset({TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT, TxnState.PREPARE_EPOCH_FENCE})
# States with no open transaction: a new one may begin, the id may expire.
COMPLETED = frozenset({TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT})


class IllegalTxnTransition(RuntimeError):
    """A coordinator bug: a transition the table above does not allow."""


def check_transition(transactional_id: str, current: TxnState, target: TxnState) -> None:
    if current not in VALID_PREVIOUS[target]:
        raise IllegalTxnTransition(f"transactional id {transactional_id}: cannot go from {current} to {target}")

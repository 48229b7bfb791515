"""Errors of the producer state (idempotence and transactions), each saying whose fault it is.

The broker's produce path turns them into Kafka error codes (storage never does):

===============================  ==========================================  ====
exception                        Kafka error                                 code
===============================  ==========================================  ====
OutOfOrderSequence               OUT_OF_ORDER_SEQUENCE_NUMBER                45
InvalidProducerEpoch             INVALID_PRODUCER_EPOCH                      47
InvalidTxnState                  INVALID_TXN_STATE                           48
TransactionCoordinatorFenced     TRANSACTION_COORDINATOR_FENCED              52
===============================  ==========================================  ====

A duplicate batch is not an error: as in Kafka, the broker answers it with NONE and the offsets the
batch was first written at (DUPLICATE_SEQUENCE_NUMBER, 46, is what old brokers sent; clients treat
both the same). See ``ProducerAppend.append``.
"""

from __future__ import annotations

from storage.errors import StorageError


class ProducerStateError(StorageError):
    """Base of the producer state errors (catch the specific ones first: this is not a disk error)."""


class OutOfOrderSequence(ProducerStateError):
    """The producer sent a batch whose sequence does not follow its last one: the producer's fault."""


class InvalidProducerEpoch(ProducerStateError):
    """The producer's epoch is older than one already written: a fenced (zombie) producer's fault."""


class InvalidTxnState(ProducerStateError):
    """A non-transactional batch from a producer inside an open transaction: the producer's fault."""


class TransactionCoordinatorFenced(ProducerStateError):
    """A transaction marker from a coordinator older than the last one: the stale coordinator's fault."""


class CorruptSnapshot(ProducerStateError):
    """A producer snapshot file fails its checks (CRC, version, length): the disk's fault.

    The manager handles it itself by deleting the file and rebuilding from an older one or the log.
    """

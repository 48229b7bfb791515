"""Shared by the data-path handlers: finding the partition a request names, and turning the
exceptions of storage, of ``broker.partition`` and of the replica manager into Kafka error codes
(handlers alone do that).

Kafka's rule for a partition this broker does not lead (``ReplicaManager.leader_partition``): a topic
the cluster does not know (or a partition index beyond its count) is UNKNOWN_TOPIC_OR_PARTITION; a
known partition hosted elsewhere (or not hosted yet) is NOT_LEADER_OR_FOLLOWER, which sends clients
back to Metadata.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from broker.delayed import RequestTimedOut
from broker.partition import (
    FencedLeaderEpoch,
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    NotLeaderOrFollower,
    Partition,
    PolicyViolation,
    ReplicaError,
    UnknownLeaderEpoch,
    UnknownTopicOrPartition,
)
from broker.replica_manager import InvalidRequiredAcks
from broker.topics import InvalidTopic
from protocol.errors import ErrorCode
from storage.errors import (
    CorruptRecord,
    InvalidRecord,
    InvalidTimestamp,
    OffsetOutOfRange,
    RecordBatchTooLarge,
    RecordTooLarge,
    StorageError,
)
from storage.producer.errors import (
    InvalidProducerEpoch,
    InvalidTxnState,
    OutOfOrderSequence,
    TransactionCoordinatorFenced,
)

if TYPE_CHECKING:
    from broker.components import BrokerComponents


class PartitionError(Exception):
    """A partition-level error answer: the code (and a message for clients that show one)."""

    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        super().__init__(message or code.name)
        self.code = code
        self.message = message


def leader_partition(broker: BrokerComponents, topic: str, index: int) -> Partition:
    """The partition if this broker leads it; else NotLeaderOrFollower or UnknownTopicOrPartition."""
    return broker.replica_manager.leader_partition(topic, index)


# Most specific first: the producer state errors and OffsetOutOfRange are StorageErrors too.
_CODES: tuple[tuple[type[Exception], ErrorCode], ...] = (
    (OutOfOrderSequence, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER),
    (InvalidProducerEpoch, ErrorCode.INVALID_PRODUCER_EPOCH),
    (InvalidTxnState, ErrorCode.INVALID_TXN_STATE),
    (TransactionCoordinatorFenced, ErrorCode.TRANSACTION_COORDINATOR_FENCED),
    (CorruptRecord, ErrorCode.CORRUPT_MESSAGE),
    (InvalidRecord, ErrorCode.INVALID_RECORD),
    (RecordTooLarge, ErrorCode.MESSAGE_TOO_LARGE),
    (RecordBatchTooLarge, ErrorCode.RECORD_LIST_TOO_LARGE),
    (InvalidTimestamp, ErrorCode.INVALID_TIMESTAMP),
    (OffsetOutOfRange, ErrorCode.OFFSET_OUT_OF_RANGE),
    (StorageError, ErrorCode.KAFKA_STORAGE_ERROR),
    (NotEnoughReplicas, ErrorCode.NOT_ENOUGH_REPLICAS),
    (NotEnoughReplicasAfterAppend, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND),
    (FencedLeaderEpoch, ErrorCode.FENCED_LEADER_EPOCH),
    (UnknownLeaderEpoch, ErrorCode.UNKNOWN_LEADER_EPOCH),
    (NotLeaderOrFollower, ErrorCode.NOT_LEADER_OR_FOLLOWER),
    (UnknownTopicOrPartition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    (PolicyViolation, ErrorCode.POLICY_VIOLATION),
    (RequestTimedOut, ErrorCode.REQUEST_TIMED_OUT),
    (InvalidRequiredAcks, ErrorCode.INVALID_REQUIRED_ACKS),
    (InvalidTopic, ErrorCode.INVALID_TOPIC_EXCEPTION),
)

DATA_PATH_ERRORS = (StorageError, ReplicaError, InvalidTopic, PartitionError)
"""What a data-path handler catches per partition; anything else is a broker bug and propagates."""


def error_code(exc: BaseException) -> ErrorCode:
    if isinstance(exc, PartitionError):
        return exc.code
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code
    return ErrorCode.UNKNOWN_SERVER_ERROR

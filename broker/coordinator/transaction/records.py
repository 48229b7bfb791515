"""The records of ``__transaction_state``, in Kafka's own key/value schemas.

Every key and value starts with an int16 version:

- key v0 ``TransactionLogKey`` (transactional id);
- value v0 ``TransactionLogValue`` (producer id, producer epoch, transaction timeout, status byte
  (``state.TxnState``), the partitions of the open transaction (nullable), last update and start
  timestamps); v1 is the flexible form, with three tagged fields of transaction version 2
  (KIP-890 part 2): PreviousProducerId (tag 0), NextProducerId (tag 1, the producer id the next
  transaction takes when a transaction's epoch bump exhausts the epochs) and ClientTransactionVersion
  (tag 2).

A null value is a tombstone: the transactional id expired. We write v0 for ids of clients before
transaction version 2 and v1 for the others (EndTxn v5), as Kafka does, and read both. Records we
cannot read raise ``BadTxnRecord`` (the log's fault). The partition of a transactional id is Kafka's
``abs(hashCode(transactional id)) % partitions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from broker.coordinator import serde
from broker.coordinator.group.records import partition_for
from protocol.schema import Int8, Int16, Int32, Int64, String, Struct, V, VersionRange, struct

__all__ = ["partition_for"]

KEY_VERSION = 0
VALUE_VERSION = 0  # transaction version 0/1 clients
VALUE_VERSION_TV2 = 1  # EndTxn v5 clients: the tagged fields are kept


class BadTxnRecord(ValueError):
    """A record of ``__transaction_state`` that is not a valid transaction log record."""


@struct
class TransactionLogKey(Struct):
    transactional_id: String = ""


@struct
class TxnPartitions(Struct):
    topic: String = ""
    partition_ids: list[Int32] = []


@struct
class TransactionLogValue(Struct):
    producer_id: Int64 = -1
    previous_producer_id: Annotated[Int64, V("1+", tag=0)] = -1
    next_producer_id: Annotated[Int64, V("1+", tag=1)] = -1
    producer_epoch: Int16 = -1
    transaction_timeout_ms: Int32 = 0
    transaction_status: Int8 = 0
    transaction_partitions: list[TxnPartitions] | None = None
    transaction_last_update_timestamp_ms: Int64 = -1
    transaction_start_timestamp_ms: Int64 = -1
    client_transaction_version: Annotated[Int16, V("1+", tag=2)] = 0


serde.declare(
    [
        (TransactionLogKey, VersionRange(0, 0), None),
        (TxnPartitions, VersionRange(0, 1), VersionRange(1, None)),
        (TransactionLogValue, VersionRange(0, 1), VersionRange(1, None)),
    ]
)


@dataclass(frozen=True, slots=True)
class TxnRecord:
    transactional_id: str
    value: TransactionLogValue | None  # None: a tombstone


def key(transactional_id: str) -> bytes:
    return serde.encode(TransactionLogKey(transactional_id=transactional_id), KEY_VERSION)


def value(v: TransactionLogValue) -> bytes:
    version = VALUE_VERSION_TV2 if v.client_transaction_version >= 2 else VALUE_VERSION
    return serde.encode(v, version)


def partitions_value(partitions: set[tuple[str, int]]) -> list[TxnPartitions]:
    by_topic: dict[str, list[int]] = {}
    for topic, index in sorted(partitions):
        by_topic.setdefault(topic, []).append(index)
    return [TxnPartitions(topic=t, partition_ids=ids) for t, ids in by_topic.items()]


def parse(raw_key: bytes | None, raw_value: bytes | None) -> TxnRecord:
    """One record of ``__transaction_state``; raises ``BadTxnRecord`` for anything else."""
    if raw_key is None:
        raise BadTxnRecord("record without a key")
    schemas = TransactionLogKey, TransactionLogValue
    k, v = serde.decode_record(*schemas, raw_key, raw_value, "transaction log", BadTxnRecord)
    return TxnRecord(k.transactional_id, v)

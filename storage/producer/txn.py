"""Transaction bookkeeping of the producer state: end markers, open and completed transactions.

A transaction on a partition starts with the producer's first transactional data batch and ends with
a control batch (written by the transaction coordinator) holding one end-transaction marker record:

* key   = version int16 (0), control type int16 (0 = ABORT, 1 = COMMIT)
* value = version int16 (0), coordinator epoch int32

Control batches are never compressed; markers are decoded with ``protocol.records``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from protocol.records import ControlRecordType, iter_records, read_control_record
from protocol.records.header import Compression, InvalidRecordBatch, read_header

ABORT = 0
COMMIT = 1

_KEY = struct.Struct(">hh")
_VALUE = struct.Struct(">hi")

Buffer = bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class EndTxnMarker:
    """The marker of a control batch: does it commit or abort, and which coordinator epoch wrote it."""

    is_commit: bool
    coordinator_epoch: int


@dataclass(frozen=True, slots=True)
class CompletedTxn:
    """A transaction closed by a marker: data in [first_offset, last_offset], the marker at last_offset."""

    producer_id: int
    first_offset: int
    last_offset: int
    is_aborted: bool


@dataclass(frozen=True, slots=True)
class AbortedTxn:
    """An entry of a segment's transaction index (``.txnindex``), exactly Kafka's four fields.

    ``last_stable_offset`` is the LSO right after the abort marker was written: a consumer reading
    with read_committed uses it to know which aborted transactions can overlap a fetch.
    """

    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int


@dataclass(slots=True)
class TxnMetadata:
    """An open (or completed but not yet replicated) transaction of one producer on this partition."""

    producer_id: int
    first_offset: int
    last_offset: int | None = None


def read_end_txn_marker(batch: Buffer, pos: int = 0) -> EndTxnMarker | None:
    """The end-transaction marker of the control batch at ``pos``; None for an empty control batch.

    An empty control batch is what compaction leaves of a finished transaction: Kafka ignores it, and
    so does ``ProducerAppend.append``. Raises InvalidRecordBatch (the writer's fault) when the batch is
    not a control batch, is compressed, or its first record is not an ABORT or COMMIT marker.
    """
    header = read_header(batch, pos)
    if not header.is_control:
        raise InvalidRecordBatch("not a control batch: it has no end-transaction marker")
    if header.compression is not Compression.NONE:
        raise InvalidRecordBatch(f"control batch is compressed with {header.compression.name}")
    if header.records_count == 0:
        return None
    view = memoryview(batch)[pos:]
    record = next(iter_records(view))
    control = read_control_record(record)
    if control.type not in (ControlRecordType.ABORT, ControlRecordType.COMMIT) or control.coordinator_epoch is None:
        raise InvalidRecordBatch(f"control record type {control.type.name} is not an ABORT or COMMIT marker")
    return EndTxnMarker(control.type is ControlRecordType.COMMIT, control.coordinator_epoch)


def end_txn_marker_record(marker: EndTxnMarker, timestamp_delta: int = 0) -> bytes:
    """The single record of a control batch carrying ``marker`` (for the coordinator and for tests)."""
    key = _KEY.pack(0, COMMIT if marker.is_commit else ABORT)
    value = _VALUE.pack(0, marker.coordinator_epoch)
    body = (
        b"\x00"
        + _zigzag(timestamp_delta)
        + _zigzag(0)
        + _zigzag(len(key))
        + key
        + _zigzag(len(value))
        + value
        + _zigzag(0)
    )
    return _zigzag(len(body)) + body


def _zigzag(value: int) -> bytes:
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)

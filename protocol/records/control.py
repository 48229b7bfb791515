"""Control batches: the transaction markers a coordinator writes, and reading them back.

A control batch is transactional, has the control attribute, and holds one record whose key is
``version int16 (0) + type int16`` and, for COMMIT and ABORT markers, whose value is
``version int16 (0) + coordinator epoch int32`` (Kafka's EndTransactionMarker).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from protocol.records.batch import build_batch
from protocol.records.header import NO_PARTITION_LEADER_EPOCH, InvalidRecordBatch
from protocol.records.record import Record

__all__ = ["ControlRecord", "ControlRecordType", "build_control_batch", "read_control_record"]

_KEY = struct.Struct(">hh")
_MARKER_VALUE = struct.Struct(">hi")


class ControlRecordType(enum.IntEnum):
    ABORT = 0
    COMMIT = 1
    LEADER_CHANGE = 2  # KRaft
    SNAPSHOT_HEADER = 3  # KRaft
    SNAPSHOT_FOOTER = 4  # KRaft


@dataclass(slots=True, frozen=True)
class ControlRecord:
    """A decoded control record; ``coordinator_epoch`` is set for COMMIT and ABORT only."""

    version: int
    type: ControlRecordType
    coordinator_epoch: int | None


def build_control_batch(
    commit: bool,
    producer_id: int,
    producer_epoch: int,
    coordinator_epoch: int,
    base_offset: int = 0,
    timestamp: int = -1,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
) -> bytes:
    """A COMMIT (``commit=True``) or ABORT transaction marker batch of one record."""
    marker = ControlRecordType.COMMIT if commit else ControlRecordType.ABORT
    record = Record(
        offset=base_offset,
        timestamp=timestamp,
        key=_KEY.pack(0, marker),
        value=_MARKER_VALUE.pack(0, coordinator_epoch),
    )
    return build_batch(
        [record],
        base_offset=base_offset,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        is_transactional=True,
        is_control=True,
        partition_leader_epoch=partition_leader_epoch,
    )


def read_control_record(record: Record) -> ControlRecord:
    """Decode the key (and for markers, the value) of a record from a control batch."""
    if record.key is None or len(record.key) < _KEY.size:
        raise InvalidRecordBatch("control record key must hold a version and a type (4 bytes)")
    version, raw_type = _KEY.unpack_from(record.key)
    if version < 0:
        raise InvalidRecordBatch(f"control record has invalid key version {version}")
    try:
        kind = ControlRecordType(raw_type)
    except ValueError:
        raise InvalidRecordBatch(f"unknown control record type {raw_type}") from None
    epoch: int | None = None
    if kind in (ControlRecordType.ABORT, ControlRecordType.COMMIT):
        if record.value is None or len(record.value) < _MARKER_VALUE.size:
            raise InvalidRecordBatch("transaction marker value must hold a version and an epoch")
        marker_version, epoch = _MARKER_VALUE.unpack_from(record.value)
        if marker_version < 0:
            raise InvalidRecordBatch(f"transaction marker has invalid version {marker_version}")
    return ControlRecord(version, kind, epoch)

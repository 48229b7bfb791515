"""Helpers for the producer state tests: batch headers and a tiny in-memory log (no tests here)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from protocol.records.header import (
    CONTROL_MASK,
    HEADER_SIZE,
    LOG_OVERHEAD,
    NO_SEQUENCE,
    TRANSACTIONAL_MASK,
    BatchHeader,
    write_crc,
)
from storage.producer.state import (
    AbortedTxn,
    AppendOrigin,
    BatchMetadata,
    EndTxnMarker,
    ProducerStateManager,
    ReplayedBatch,
)
from storage.producer.txn import end_txn_marker_record

TS = 1_000_000  # default batch timestamp (ms)


def data_batch(
    pid: int, epoch: int, seq: int, offset: int, count: int = 1, *, txn: bool = False, ts: int = TS
) -> BatchHeader:
    """The header of a data batch of ``count`` records at ``offset``."""
    return BatchHeader(
        base_offset=offset,
        batch_length=HEADER_SIZE - LOG_OVERHEAD + 10 * count,
        partition_leader_epoch=0,
        magic=2,
        crc=0,
        attributes=TRANSACTIONAL_MASK if txn else 0,
        last_offset_delta=count - 1,
        base_timestamp=ts,
        max_timestamp=ts,
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
        records_count=count,
    )


def control_batch(pid: int, epoch: int, offset: int, *, records: int = 1, ts: int = TS) -> BatchHeader:
    """The header of a transaction marker batch at ``offset``."""
    return BatchHeader(
        base_offset=offset,
        batch_length=HEADER_SIZE - LOG_OVERHEAD + 20 * records,
        partition_leader_epoch=0,
        magic=2,
        crc=0,
        attributes=TRANSACTIONAL_MASK | CONTROL_MASK,
        last_offset_delta=0,
        base_timestamp=ts,
        max_timestamp=ts,
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=NO_SEQUENCE,
        records_count=records,
    )


def control_batch_bytes(pid: int, epoch: int, offset: int, marker: EndTxnMarker, attributes: int = 0) -> bytes:
    """A whole control batch as a transaction coordinator writes it, with a valid CRC."""
    record = end_txn_marker_record(marker)
    buf = bytearray(
        struct.pack(
            ">qiibIhiqqqhii",
            offset,
            HEADER_SIZE - LOG_OVERHEAD + len(record),
            0,
            2,
            0,
            TRANSACTIONAL_MASK | CONTROL_MASK | attributes,
            0,
            TS,
            TS,
            pid,
            epoch,
            NO_SEQUENCE,
            1,
        )
    )
    buf += record
    write_crc(buf)
    return bytes(buf)


class Log:
    """What a Log does with the producer state, in memory: append batches, replay them."""

    def __init__(self, directory: Path, now: list[int] | None = None) -> None:
        self.clock = now if now is not None else [TS]
        self.psm = ProducerStateManager(directory, time_ms=lambda: self.clock[0])
        self.batches: list[ReplayedBatch] = []
        self.aborted: list[AbortedTxn] = []

    @property
    def end_offset(self) -> int:
        return self.batches[-1][0].next_offset if self.batches else 0

    def append(
        self,
        header: BatchHeader,
        marker: EndTxnMarker | None = None,
        origin: AppendOrigin = AppendOrigin.CLIENT,
    ) -> BatchMetadata | None:
        """Append one batch (raising what the producer state raises); a duplicate is not written."""
        append = self.psm.prepare_append(origin)
        duplicate = append.append(header, marker)
        if duplicate is not None:
            return duplicate
        self.batches.append((header, marker))
        self.aborted.extend(self.psm.commit(append))
        return None

    def replay(self, start: int) -> Iterator[ReplayedBatch]:
        for header, marker in self.batches:
            if header.last_offset >= start:
                yield header, marker

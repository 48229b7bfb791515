"""The produce path's checks of a partition's records before they reach the log (Kafka's
``ProduceRequest.validateRecords`` and the client-origin rules of ``LogValidator``), and the
conversion of legacy (magic 0/1) message sets to one v2 batch.

Only the 61-byte batch headers are read; the records themselves are decoded only for a legacy
message set (to convert it) and on compacted topics (every record needs a key).

Whose fault: every ``PartitionError`` raised here is the producer's.
"""

from __future__ import annotations

from broker.handlers._partitions import PartitionError
from protocol.errors import ErrorCode
from protocol.records import (
    Compression,
    InvalidRecordBatch,
    Record,
    build_batch,
    convert_legacy_to_v2,
    decode_batch,
    iter_records,
    read_header,
    record_set_magic,
)
from protocol.records.exceptions import CorruptRecordBatch
from protocol.records.header import HEADER_SIZE, MAGIC_OFFSET, BatchHeader

Buffer = bytes | bytearray | memoryview
ZSTD_MIN_PRODUCE_VERSION = 7
ONE_BATCH_MIN_VERSION = 3


def prepare_records(records: Buffer | None, version: int, compacted: bool) -> Buffer:
    """The v2 batches to append for a partition of a Produce request of ``version``."""
    buf: Buffer = b"" if records is None else records
    magic = record_set_magic(buf)
    if version >= ONE_BATCH_MIN_VERSION:
        _check_exactly_one_v2_batch(buf, version)
    elif magic is not None and magic < 2:
        buf = _convert_legacy(buf)
    headers = _headers(buf)
    for index, header in enumerate(headers):
        if version < ZSTD_MIN_PRODUCE_VERSION and header.compression == Compression.ZSTD:
            raise PartitionError(
                ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
                f"Produce requests with version {version} are not allowed to use ZStandard compression",
            )
        _check_client_batch(header, index)
    if compacted:
        _check_keys(buf, headers)
    return buf


def _check_exactly_one_v2_batch(buf: Buffer, version: int) -> None:
    if len(buf) <= MAGIC_OFFSET:
        raise PartitionError(
            ErrorCode.INVALID_RECORD,
            f"Produce requests with version {version} must have at least one record batch per partition",
        )
    if buf[MAGIC_OFFSET] != 2:
        raise PartitionError(
            ErrorCode.INVALID_RECORD,
            f"Produce requests with version {version} are only allowed to contain record batches with magic version 2",
        )
    if len(buf) >= HEADER_SIZE:
        try:
            size = read_header(buf).size
        except InvalidRecordBatch as exc:
            raise PartitionError(ErrorCode.CORRUPT_MESSAGE, str(exc)) from None
        if len(buf) > size:
            raise PartitionError(
                ErrorCode.INVALID_RECORD,
                f"Produce requests with version {version} are only allowed to contain exactly one record batch per "
                "partition",
            )


def _headers(buf: Buffer) -> list[BatchHeader]:
    """Headers of the v2 batches end to end; framing damage is CORRUPT_MESSAGE (storage checks CRCs)."""
    out: list[BatchHeader] = []
    pos = 0
    while pos < len(buf):
        if len(buf) - pos < HEADER_SIZE:
            raise PartitionError(ErrorCode.CORRUPT_MESSAGE, f"{len(buf) - pos} trailing bytes are not a record batch")
        if buf[pos + MAGIC_OFFSET] != 2:
            raise PartitionError(
                ErrorCode.INVALID_RECORD,
                f"Batch magic {buf[pos + MAGIC_OFFSET]} is not the same as the first batch's magic byte 2",
            )
        try:
            header = read_header(buf, pos)
        except InvalidRecordBatch as exc:
            raise PartitionError(ErrorCode.CORRUPT_MESSAGE, str(exc)) from None
        if header.batch_length < HEADER_SIZE - 12:
            raise PartitionError(ErrorCode.CORRUPT_MESSAGE, f"record batch at byte {pos} has a size below its header")
        out.append(header)
        pos += header.size
    return out


def _check_client_batch(header: BatchHeader, index: int) -> None:
    """LogValidator's rules for batches that come from a client (not from replication)."""
    if header.last_offset_delta < 0:
        raise PartitionError(
            ErrorCode.INVALID_RECORD,
            f"Batch has an invalid offset range: [{header.base_offset}, {header.last_offset}]",
        )
    if header.records_count <= 0:
        raise PartitionError(
            ErrorCode.INVALID_RECORD, f"Invalid reported count for record batch: {header.records_count}"
        )
    if header.records_count != header.last_offset_delta + 1:
        raise PartitionError(
            ErrorCode.INVALID_RECORD,
            f"Inconsistent batch offset range [{header.base_offset}, {header.last_offset}] and count of records "
            f"{header.records_count}",
        )
    if header.is_control:
        raise PartitionError(ErrorCode.INVALID_RECORD, "Clients are not allowed to write control records")
    if header.has_producer_id and header.base_sequence < 0:
        raise PartitionError(
            ErrorCode.INVALID_RECORD,
            f"Invalid sequence number {header.base_sequence} in record batch with producerId {header.producer_id}",
        )


def _check_keys(buf: Buffer, headers: list[BatchHeader]) -> None:
    pos = 0
    for header in headers:
        try:
            for i, record in enumerate(iter_records(memoryview(buf)[pos : pos + header.size])):
                if record.key is None:
                    raise PartitionError(
                        ErrorCode.INVALID_RECORD,
                        f"One or more records have been rejected due to 1 record errors in total, and only showing "
                        f"the first error: Compacted topic cannot accept message without key (record {i})",
                    )
        except InvalidRecordBatch as exc:
            raise PartitionError(ErrorCode.CORRUPT_MESSAGE, str(exc)) from None
        pos += header.size


def _convert_legacy(buf: Buffer) -> bytes:
    """Magic 0/1 -> one v2 batch with consecutive offsets (Kafka renumbers inner offsets too)."""
    try:
        batch = convert_legacy_to_v2(buf, base_offset=0)
        header = read_header(batch)
        if header.records_count != header.last_offset_delta + 1:
            head, records = decode_batch(batch)
            renumbered = [Record(i, r.timestamp, r.key, r.value, r.headers) for i, r in enumerate(records)]
            batch = build_batch(
                renumbered, base_offset=0, compression=head.compression, timestamp_type=head.timestamp_type
            )
    except CorruptRecordBatch as exc:
        raise PartitionError(ErrorCode.CORRUPT_MESSAGE, str(exc)) from None
    except InvalidRecordBatch as exc:
        raise PartitionError(ErrorCode.INVALID_RECORD, str(exc)) from None
    return batch

"""The Produce request's own rules for a partition's records, which depend on the API version (Kafka's
``ProduceRequest.validateRecords``): v3+ carries exactly one batch, of magic 2; zstd needs v7+.

Everything about the records themselves (framing, CRC, counts, keys of compacted topics, converting
a legacy message set) is storage's ``LogValidator`` (``storage.log._validate``), run by the replica
manager: one home for record validation, for every writer (clients, coordinators). Only batch headers
are read here.

Whose fault: every ``PartitionError`` raised here is the producer's.
"""

from __future__ import annotations

from broker.handlers._partitions import PartitionError
from protocol.errors import ErrorCode
from protocol.records import Compression, InvalidRecordBatch, read_header
from protocol.records.header import COMPRESSION_MASK, HEADER_SIZE, MAGIC_OFFSET

Buffer = bytes | bytearray | memoryview
ZSTD_MIN_PRODUCE_VERSION = 7
ONE_BATCH_MIN_VERSION = 3


def check_produce_records(records: Buffer | None, version: int) -> Buffer:
    """The records of one partition of a Produce request of ``version``, checked against the
    version's rules (storage validates the rest)."""
    buf: Buffer = b"" if records is None else records
    if version >= ONE_BATCH_MIN_VERSION:
        _check_exactly_one_v2_batch(buf, version)
    if version < ZSTD_MIN_PRODUCE_VERSION:
        _check_no_zstd(buf, version)
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


def _check_no_zstd(buf: Buffer, version: int) -> None:
    """v0-6 may not use zstd. Only v2 batch headers are looked at; framing damage is storage's to report."""
    pos = 0
    while len(buf) - pos >= HEADER_SIZE and buf[pos + MAGIC_OFFSET] == 2:
        try:
            header = read_header(buf, pos)
        except InvalidRecordBatch:
            return
        if header.attributes & COMPRESSION_MASK == Compression.ZSTD:
            raise PartitionError(
                ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
                f"Produce requests with version {version} are not allowed to use ZStandard compression",
            )
        pos += header.size

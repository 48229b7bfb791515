"""Kafka record batches (message format v2), their codecs, and the legacy v0/v1 message formats.

Modules: ``header`` (the 61-byte v2 header, CRC, in-place patches), ``record`` (one record),
``batch`` (build and read a batch), ``control`` (transaction markers), ``record_set`` (batches end
to end, produce-path validation), ``compression`` (gzip, snappy, lz4, zstd), ``legacy`` (magic 0
and 1, conversion to v2), ``exceptions``. The storage layer imports from here.
"""

from protocol.records.batch import build_batch, decode_batch, iter_records
from protocol.records.compression import DEFAULT_MAX_DECOMPRESSED_SIZE, compress, decompress
from protocol.records.control import (
    ControlRecord,
    ControlRecordType,
    build_control_batch,
    read_control_record,
)
from protocol.records.down_convert import down_convert
from protocol.records.exceptions import CompressionError, CorruptRecordBatch
from protocol.records.header import (
    BatchHeader,
    Compression,
    InvalidRecordBatch,
    TimestampType,
    read_header,
)
from protocol.records.legacy import (
    LegacyMessage,
    UnsupportedCompressionForMagic,
    append_legacy_messages,
    build_legacy_message,
    build_legacy_messages,
    convert_legacy_to_v2,
    iter_legacy_messages,
    read_legacy_message,
)
from protocol.records.record import Header, Record
from protocol.records.record_set import (
    iter_batches,
    iter_entries,
    record_set_magic,
    validate_record_set,
)

__all__ = [
    "DEFAULT_MAX_DECOMPRESSED_SIZE",
    "BatchHeader",
    "Compression",
    "CompressionError",
    "ControlRecord",
    "ControlRecordType",
    "CorruptRecordBatch",
    "Header",
    "InvalidRecordBatch",
    "LegacyMessage",
    "Record",
    "TimestampType",
    "UnsupportedCompressionForMagic",
    "append_legacy_messages",
    "build_batch",
    "build_control_batch",
    "build_legacy_message",
    "build_legacy_messages",
    "compress",
    "convert_legacy_to_v2",
    "decode_batch",
    "decompress",
    "down_convert",
    "iter_batches",
    "iter_entries",
    "iter_legacy_messages",
    "iter_records",
    "read_control_record",
    "read_header",
    "read_legacy_message",
    "record_set_magic",
    "validate_record_set",
]

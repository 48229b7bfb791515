"""The exceptions of the record-batch package, all subclasses of ``InvalidRecordBatch``.

Every one of them means the bytes came from a faulty or malicious sender (or a damaged file), never
a bug of the reader, so a handler can catch ``InvalidRecordBatch`` alone. The subclasses say which
Kafka error code fits best:

- ``CorruptRecordBatch``: a checksum mismatch, a size that does not add up, a batch cut short.
  Kafka answers CORRUPT_MESSAGE (2), as its ``CorruptRecordException`` does.
- ``CompressionError``: the compressed records section cannot be decompressed, or would decompress
  past the caller's size limit. Kafka answers CORRUPT_MESSAGE (2) here too.
- plain ``InvalidRecordBatch``: well framed but malformed records (bad varints, a null header key,
  an unknown codec). Kafka answers INVALID_RECORD (87) or CORRUPT_MESSAGE depending on the path.
"""

from __future__ import annotations

from protocol.records.header import InvalidRecordBatch

__all__ = ["CompressionError", "CorruptRecordBatch", "InvalidRecordBatch"]


class CorruptRecordBatch(InvalidRecordBatch):
    """A checksum mismatch, impossible size or truncation: the bytes were damaged on the way."""


class CompressionError(InvalidRecordBatch):
    """Compressed data that is corrupt, truncated, of an unknown codec, or larger than allowed."""

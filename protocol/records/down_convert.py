"""Down-conversion: stored v2 batches rewritten as a legacy message set for Fetch v0-3.

Kafka answers Fetch v0-1 with magic-0 messages and Fetch v2-3 with magic-1 messages, converting the
v2 batches it stores as its ``RecordsUtil.downConvert`` does, which is the behaviour kept here:

- control batches (transaction markers) are skipped: legacy formats have no such thing;
- a zstd batch cannot be expressed (legacy formats know codecs 0-3 only): the whole conversion fails
  with ``UnsupportedCompressionForMagic``, which the fetch handler answers with
  UNSUPPORTED_COMPRESSION_TYPE (76), as Kafka does. A zstd *control* batch is skipped first;
- an uncompressed batch becomes one message per record, dropping the records below
  ``first_offset`` (a fetch may start in the middle of a v2 batch, but an uncompressed legacy
  message holds one record, and some librdkafka versions rely on not seeing earlier ones);
- a compressed batch becomes one wrapper with the same codec holding all of its records, earlier
  ones included, as Kafka keeps them (a legacy wrapper is one unit; consumers skip what lies below
  their fetch offset);
- offsets, keys and values are kept; magic 1 keeps timestamps (for a LogAppendTime batch the batch's
  max timestamp, on every message, with the timestamp-type bit set); headers are dropped;
- a batch with no record left (emptied by compaction, or wholly below ``first_offset``) writes
  nothing; a partial batch at the end of ``data`` (a fetch cut at its byte limit) is dropped.

Records are decoded once, batch by batch, and written straight into one output buffer. CRCs of the
stored batches are not checked again (storage checked them on append and on recovery); a damaged
batch still raises ``InvalidRecordBatch`` (or a subclass) when its records cannot be read.
"""

from __future__ import annotations

from protocol.records.batch import decode_batch
from protocol.records.compression import DEFAULT_MAX_DECOMPRESSED_SIZE
from protocol.records.header import COMPRESSION_MASK, Compression
from protocol.records.legacy import UnsupportedCompressionForMagic, append_legacy_messages
from protocol.records.record_set import iter_batches

__all__ = ["UnsupportedCompressionForMagic", "down_convert"]

Buffer = bytes | bytearray | memoryview


def down_convert(
    data: Buffer,
    magic: int,
    *,
    first_offset: int = 0,
    max_bytes: int | None = None,
    max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
) -> bytes:
    """The legacy message set (``magic`` 0 or 1) equivalent to the v2 batches in ``data``.

    ``first_offset`` is the fetch offset: records below it are dropped from uncompressed batches.
    ``max_bytes``, when given, stops the conversion after the first batch that brings the output to
    ``max_bytes`` or more: the result ends on a whole message and may be longer than ``max_bytes``
    (cutting it to a promised size is the caller's business; a partial trailing message is legal in a
    fetch response). ``max_decompressed_size`` caps each batch's decompressed records section.

    Raises ``UnsupportedCompressionForMagic`` for a zstd batch, ``InvalidRecordBatch`` (or a
    subclass) for an entry that is not a v2 batch or a batch whose records cannot be read, and
    ``ValueError`` for a ``magic`` other than 0 or 1 (the caller's mistake).
    """
    if magic not in (0, 1):
        raise ValueError(f"down-conversion targets magic 0 or 1, not {magic}")
    out = bytearray()
    for header, entry in iter_batches(data):
        if header.is_control:
            continue
        codec_bits = header.attributes & COMPRESSION_MASK
        if codec_bits == Compression.ZSTD:
            raise UnsupportedCompressionForMagic(Compression.ZSTD, magic, header.base_offset)
        if codec_bits == Compression.NONE and header.last_offset < first_offset:
            continue
        _, records = decode_batch(entry, max_decompressed_size=max_decompressed_size)  # rejects codecs 5-7
        codec = Compression(codec_bits)
        if codec == Compression.NONE and header.base_offset < first_offset:
            records = (r for r in records if r.offset >= first_offset)
        append_legacy_messages(out, records, magic, compression=codec, timestamp_type=header.timestamp_type)
        if max_bytes is not None and len(out) >= max_bytes:
            break
    return bytes(out)

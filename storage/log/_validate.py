"""Validation of incoming record batches (Kafka's ``LogValidator``): the one home of the produce path's
record checks.

Two steps, so that the expensive one can leave the event loop:

- ``validate_client_records`` (pure, no log state, safe in a worker thread): everything that needs
  the records of a client's produce decoded: converting a legacy (magic 0/1) message set to one v2
  batch, Kafka's record-count and size checks, the bound on records decoded per batch, and the key
  every record of a compacted topic needs. Batches of an ordinary topic stay opaque bytes: nothing
  is decoded and the buffer comes back as it was. ``decoding_cost`` says beforehand how many records
  it would decode, so the broker can run it inline or in a worker thread.
- ``validate_batches`` (cheap, on every append, under the log): a whole v2 header (magic 2), a length
  within the buffer, max.message.bytes, CRC-32C, a sane offset delta and record count. Offsets and
  the leader epoch are then patched in place by the log: the CRC does not cover them.

The request-shape rules that depend on the Produce API version (v3+ carries exactly one magic-2
batch; zstd needs v7+) are the handler's (``broker.handlers._produce_checks``), as Kafka keeps them
in ``ProduceRequest``.

Failures are the sender's fault: ``CorruptRecord``, ``InvalidRecord``, ``RecordTooLarge``,
``RecordBatchTooLarge``, ``InvalidTimestamp``.
"""

from __future__ import annotations

from protocol.records import (
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    CompressionError,
    CorruptRecordBatch,
    Record,
    build_batch,
    convert_legacy_to_v2,
    decode_batch,
    iter_records,
)
from protocol.records.header import (
    COMPRESSION_MASK,
    HEADER_SIZE,
    MAGIC_OFFSET,
    BatchHeader,
    InvalidRecordBatch,
    compute_crc,
    read_header,
    set_max_timestamp,
)
from storage.config import LogConfig
from storage.errors import CorruptRecord, InvalidRecord, InvalidTimestamp, RecordBatchTooLarge, RecordTooLarge

Buffer = bytes | bytearray | memoryview

MIN_RECORD_SIZE = 7
"""The smallest v2 record: length, attributes, timestamp delta, offset delta, key length, value
length and header count, one byte each. An uncompressed batch cannot hold more records than its
body has room for at this size (Kafka finds the same at "premature EOF")."""

MAX_DECODED_RECORDS = 1_000_000
"""Records the broker decodes in one batch at most (compacted topics, legacy conversion): a bigger
count is refused (INVALID_RECORD) before anything is decompressed. librdkafka cannot put more in a
batch (``batch.num.messages`` <= 1,000,000); a 1 MB gzip batch can claim 30 million."""

MAX_DECODED_BYTES = DEFAULT_MAX_DECOMPRESSED_SIZE
"""A batch's records section decompresses to at most this many bytes (else CORRUPT_MESSAGE)."""

LEGACY_MESSAGE_MIN_SIZE = 26
"""The smallest magic-0 message with its log overhead (offset, size, crc, magic, attributes, key and
value lengths): the count estimate of an uncompressed legacy message set."""


class ValidatedRecords(bytearray):
    """Records ``validate_client_records`` decoded and passed (a compacted topic's keys, a converted
    legacy message set): the log trusts those checks and does not decode the records again. A
    bytearray, so the log patches offsets in place without a copy."""


def decoding_cost(buf: Buffer, config: LogConfig) -> int:
    """About how many records ``validate_client_records`` will decode: 0 for v2 batches of an
    ordinary topic (none: they stay opaque)."""
    if len(buf) <= MAGIC_OFFSET:
        return 0
    if buf[MAGIC_OFFSET] < 2:
        compressed = len(buf) > 17 and buf[17] & COMPRESSION_MASK
        return len(buf) if compressed else max(1, len(buf) // LEGACY_MESSAGE_MIN_SIZE)
    if not config.compact_enabled:
        return 0
    total = 0
    pos = 0
    while len(buf) - pos >= HEADER_SIZE:
        try:
            header = read_header(buf, pos)
        except InvalidRecordBatch:
            break  # validation reports it, at once
        total += max(header.records_count, 0)
        pos += header.size
    return max(total, 1)


def validate_client_records(buf: Buffer, config: LogConfig, name: str = "") -> Buffer:
    """The records a client sent for one partition, checked and ready for ``Log.append_as_leader``:
    ``buf`` itself for v2 batches of an ordinary topic, else a ``ValidatedRecords`` (a legacy message
    set converted to one v2 batch; a compacted topic's batches with every key checked). Pure: safe
    to run in a worker thread."""
    if len(buf) > config.segment_bytes:
        raise RecordBatchTooLarge(
            f"Message batch size is {len(buf)} bytes in append to partition {name} which exceeds the maximum "
            f"configured segment size of {config.segment_bytes}."
        )
    legacy = len(buf) > MAGIC_OFFSET and buf[MAGIC_OFFSET] < 2
    if not legacy and not config.compact_enabled:
        return buf
    records: Buffer = _convert_legacy(buf) if legacy else buf
    batches = validate_batches(records, config.max_message_bytes, from_leader_append=True)
    if config.compact_enabled:
        _check_keys(name, records, batches)
    return records if isinstance(records, ValidatedRecords) else ValidatedRecords(records)


def validate_batches(buf: Buffer, max_message_bytes: int, *, from_leader_append: bool) -> list[tuple[int, BatchHeader]]:
    """(position, header) of every batch in ``buf``; raises if any batch is invalid (nothing is kept)."""
    out: list[tuple[int, BatchHeader]] = []
    pos = 0
    end = len(buf)
    while pos < end:
        if end - pos < HEADER_SIZE:
            raise CorruptRecord(f"{end - pos} trailing bytes at byte {pos} are not a record batch")
        if from_leader_append and buf[pos + MAGIC_OFFSET] != 2:
            raise InvalidRecord(
                f"Batch magic {buf[pos + MAGIC_OFFSET]} is not the same as the first batch's magic byte 2"
            )
        try:
            header = read_header(buf, pos)
        except InvalidRecordBatch as e:
            raise CorruptRecord(f"record batch at byte {pos}: {e}") from None
        size = header.size
        if size > end - pos:
            raise CorruptRecord(f"record batch at byte {pos} claims {size} bytes, only {end - pos} left")
        if size > max_message_bytes:
            raise RecordTooLarge(f"record batch of {size} bytes exceeds max.message.bytes {max_message_bytes}")
        if compute_crc(buf, pos, size) != header.crc:
            raise CorruptRecord(f"record batch at byte {pos} fails its CRC-32C check")
        if from_leader_append:
            _check_counts(header, pos)
        elif header.last_offset_delta < 0:
            raise InvalidRecord(f"record batch at byte {pos} has last offset delta {header.last_offset_delta}")
        out.append((pos, header))
        pos += size
    return out


def _check_counts(header: BatchHeader, pos: int) -> None:
    """Kafka's record-count checks of a leader append (LogValidator, DefaultRecordBatch)."""
    if header.last_offset_delta < 0:
        raise InvalidRecord(f"Batch has an invalid offset range: [{header.base_offset}, {header.last_offset}]")
    if header.records_count <= 0:
        raise InvalidRecord(f"Invalid reported count for record batch: {header.records_count}")
    if header.records_count != header.last_offset_delta + 1:
        raise InvalidRecord(
            f"Inconsistent batch offset range [{header.base_offset}, {header.last_offset}] and count of records "
            f"{header.records_count}"
        )
    if header.attributes & COMPRESSION_MASK == 0 and header.records_count * MIN_RECORD_SIZE > header.size - HEADER_SIZE:
        raise InvalidRecord(
            f"Incorrect declared batch size: {header.records_count} records cannot fit in the "
            f"{header.size - HEADER_SIZE} bytes of the batch at byte {pos}"
        )


def check_timestamps(name: str, config: LogConfig, batches: list[tuple[int, BatchHeader]], now: int) -> None:
    """CreateTime timestamps must lie within message.timestamp.before/after.max.ms of ``now``."""
    before = config.timestamp_before_max_ms
    after = config.timestamp_after_max_ms
    for _, header in batches:
        base_ts, max_ts = header.base_timestamp, header.max_timestamp
        if (base_ts >= 0 and now - base_ts > before) or (max_ts >= 0 and max_ts - now > after):
            raise InvalidTimestamp(
                f"{name}: timestamps [{base_ts}, {max_ts}] are outside the allowed range around {now}"
            )


def repair_max_timestamps(buf: bytearray, batches: list[tuple[int, BatchHeader]]) -> list[tuple[int, BatchHeader]]:
    """Give a batch whose max timestamp lies below its first timestamp (sarama 1.22 sends -1 there) the
    largest timestamp of its records, and fix its CRC. Kafka's LogValidator recomputes every batch's
    max timestamp on a leader append; kafkish keeps batches opaque and decodes only such a batch, the
    one case where the header's value cannot be right. Returns the batches with their headers updated.
    """
    if all(header.max_timestamp >= header.base_timestamp for _, header in batches):
        return batches
    out: list[tuple[int, BatchHeader]] = []
    for pos, header in batches:
        if header.max_timestamp < header.base_timestamp and not header.is_control:
            _check_decodable(header)
            try:
                with memoryview(buf) as view:
                    max_ts = max(
                        (
                            r.timestamp
                            for r in iter_records(
                                view[pos : pos + header.size], max_decompressed_size=MAX_DECODED_BYTES
                            )
                        ),
                        default=header.base_timestamp,
                    )
            except (CorruptRecordBatch, CompressionError) as e:
                raise CorruptRecord(f"record batch at byte {pos}: {e}") from None
            except InvalidRecordBatch as e:
                raise InvalidRecord(f"record batch at byte {pos}: {e}") from None
            set_max_timestamp(buf, max_ts, pos)
            header = header._replace(max_timestamp=max_ts)
        out.append((pos, header))
    return out


def check_keys_for_compaction(name: str, buf: Buffer, batches: list[tuple[int, BatchHeader]]) -> None:
    """A compacted topic accepts only records with a key (Kafka's LogValidator). The log calls this on
    every append to a compacted topic; records ``validate_client_records`` passed are not decoded
    again."""
    if isinstance(buf, ValidatedRecords):
        return
    _check_keys(name, buf, batches)


def _check_keys(name: str, buf: Buffer, batches: list[tuple[int, BatchHeader]]) -> None:
    """Every record without a key is named, by its index in the batch, as Kafka's LogValidator does
    (a produce request carries one batch per partition; legacy message sets become one batch)."""
    view = memoryview(buf)
    record_errors: list[tuple[int, str]] = []
    message = f"Compacted topic cannot accept message without key in topic partition {name}."
    for pos, header in batches:
        if header.is_control:
            continue
        _check_decodable(header)
        try:
            for i, record in enumerate(
                iter_records(view[pos : pos + header.size], max_decompressed_size=MAX_DECODED_BYTES)
            ):
                if record.key is None:
                    record_errors.append((i, message))
        except (CorruptRecordBatch, CompressionError) as e:
            raise CorruptRecord(f"record batch at byte {pos}: {e}") from None
        except InvalidRecordBatch as e:
            raise InvalidRecord(f"record batch at byte {pos}: {e}") from None
    if record_errors:
        first_index, first_message = record_errors[0]
        raise InvalidRecord(
            f"One or more records have been rejected due to {len(record_errors)} record errors in total, and only "
            f"showing the first error at most: [RecordError(batchIndex={first_index}, message='{first_message}')]",
            tuple(record_errors),
        )


def _check_decodable(header: BatchHeader) -> None:
    if header.records_count > MAX_DECODED_RECORDS:
        raise InvalidRecord(
            f"Record batch of {header.records_count} records is over the {MAX_DECODED_RECORDS} records this "
            "broker decodes in one batch"
        )


def _convert_legacy(buf: Buffer) -> ValidatedRecords:
    """Magic 0/1 -> one v2 batch with consecutive offsets (Kafka renumbers inner offsets too)."""
    try:
        batch = convert_legacy_to_v2(buf, base_offset=0, max_decompressed_size=MAX_DECODED_BYTES)
        header = read_header(batch)
        _check_decodable(header)
        if header.records_count != header.last_offset_delta + 1:
            head, records = decode_batch(batch)
            renumbered = [Record(i, r.timestamp, r.key, r.value, r.headers) for i, r in enumerate(records)]
            batch = build_batch(
                renumbered, base_offset=0, compression=head.compression, timestamp_type=head.timestamp_type
            )
    except (CorruptRecordBatch, CompressionError) as exc:
        raise CorruptRecord(str(exc)) from None
    except InvalidRecordBatch as exc:
        raise InvalidRecord(str(exc)) from None
    return ValidatedRecords(batch)

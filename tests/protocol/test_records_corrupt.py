"""Damaged, cut and random bytes: always InvalidRecordBatch (or a subclass), never anything else."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.records import (
    Compression,
    CompressionError,
    CorruptRecordBatch,
    InvalidRecordBatch,
    Record,
    build_batch,
    iter_batches,
    iter_records,
    read_header,
    validate_record_set,
)
from protocol.records.header import write_crc

RECORDS = [Record(i, 1000 + i, b"k%d" % i, b"v" * i, [("h", b"x")]) for i in range(20)]
BATCHES = {codec: build_batch(RECORDS, compression=codec) for codec in Compression}


def read_all(buf: bytes | bytearray) -> None:
    for header, view in iter_batches(buf):
        assert header.size == len(view)
        list(iter_records(view))


def test_flipped_byte_fails_the_crc_check() -> None:
    batch = bytearray(BATCHES[Compression.NONE])
    batch[70] ^= 0x01
    with pytest.raises(CorruptRecordBatch, match="stored crc"):
        validate_record_set(batch)
    with pytest.raises(CorruptRecordBatch, match="stored crc"):
        list(iter_records(batch, verify_crc=True))


def test_validate_accepts_whole_batches_and_returns_headers() -> None:
    payload = BATCHES[Compression.GZIP] + BATCHES[Compression.NONE]
    headers = validate_record_set(payload)
    assert [h.compression for h in headers] == [Compression.GZIP, Compression.NONE]
    assert validate_record_set(b"") == []


def test_validate_rejects_cut_batch_wrong_magic_and_oversize() -> None:
    batch = BATCHES[Compression.NONE]
    with pytest.raises(CorruptRecordBatch, match="declares"):
        validate_record_set(batch[:-1])
    with pytest.raises(CorruptRecordBatch, match="cut short"):
        validate_record_set(batch + batch[:30])
    wrong_magic = bytearray(batch)
    wrong_magic[16] = 1
    with pytest.raises(InvalidRecordBatch, match="magic 1"):
        validate_record_set(wrong_magic)
    with pytest.raises(InvalidRecordBatch, match="larger than 100"):
        validate_record_set(batch, max_batch_size=100)


def test_iter_batches_stops_cleanly_at_a_partial_trailing_batch() -> None:
    one = BATCHES[Compression.NONE]
    two = BATCHES[Compression.SNAPPY]
    for cut in (1, 11, 12, 17, 60, 61, len(two) - 1):
        found = list(iter_batches(one + two[:cut]))
        assert len(found) == 1
        assert bytes(found[0][1]) == one
    assert len(list(iter_batches(one + two))) == 2


def test_iter_batches_hands_out_views_not_copies() -> None:
    buf = bytearray(BATCHES[Compression.NONE] * 2)
    (_, first), (_, second) = iter_batches(buf)
    buf[0] = 0x7F
    assert first[0] == 0x7F
    assert second.obj is buf


def test_record_count_larger_than_records_is_invalid() -> None:
    batch = bytearray(BATCHES[Compression.NONE])
    struct.pack_into(">i", batch, 57, 21)
    write_crc(batch)
    with pytest.raises(InvalidRecordBatch, match="cut short"):
        list(iter_records(batch, verify_crc=True))
    struct.pack_into(">i", batch, 57, 19)
    write_crc(batch)
    with pytest.raises(InvalidRecordBatch, match="left over"):
        list(iter_records(batch, verify_crc=True))


def test_corrupt_compressed_section_is_a_compression_error() -> None:
    for codec in (Compression.GZIP, Compression.SNAPPY, Compression.LZ4, Compression.ZSTD):
        batch = bytearray(BATCHES[codec])
        for i in range(61, len(batch)):
            batch[i] ^= 0x55
        write_crc(batch)
        with pytest.raises(InvalidRecordBatch):
            list(iter_records(batch, verify_crc=True))


@pytest.mark.parametrize("codec", [5, 6, 7])
def test_unknown_codec_is_rejected_with_the_header(codec: int) -> None:
    """Codecs 5-7 do not exist: the header is refused, so no reader ever meets them (Produce answers
    CORRUPT_MESSAGE), and ``BatchHeader.compression`` cannot fail."""
    batch = bytearray(BATCHES[Compression.NONE])
    batch[22] |= codec
    write_crc(batch)
    with pytest.raises(InvalidRecordBatch, match=f"unknown compression codec {codec}"):
        read_header(batch)
    with pytest.raises(InvalidRecordBatch, match=f"unknown compression codec {codec}"):
        list(iter_records(batch))


def test_decompression_limit_applies_to_batches() -> None:
    big = build_batch([Record(0, 0, None, b"\x00" * 1_000_000, [])], compression=Compression.ZSTD)
    with pytest.raises(CompressionError, match="more than 10000 bytes"):
        list(iter_records(big, max_decompressed_size=10_000))


@pytest.mark.parametrize("codec", list(Compression), ids=lambda c: c.name)
def test_every_truncation_of_a_batch_is_invalid(codec: Compression) -> None:
    batch = BATCHES[codec]
    for cut in range(len(batch)):
        with pytest.raises(InvalidRecordBatch):
            list(iter_records(batch[:cut]))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), codec=st.sampled_from(list(Compression)))
def test_mutated_batches_fail_only_with_invalid_record_batch(data: st.DataObject, codec: Compression) -> None:
    batch = bytearray(BATCHES[codec])
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        pos = data.draw(st.integers(min_value=0, max_value=len(batch) - 1))
        batch[pos] = data.draw(st.integers(min_value=0, max_value=255))
    write_crc(batch)  # get past the CRC so the decoder itself is exercised
    with contextlib.suppress(InvalidRecordBatch):
        list(iter_records(batch, verify_crc=True))
    with contextlib.suppress(InvalidRecordBatch):
        validate_record_set(batch)
    with contextlib.suppress(InvalidRecordBatch):
        read_all(batch)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_fail_only_with_invalid_record_batch(raw: bytes) -> None:
    for attempt in (lambda: list(iter_records(raw)), lambda: validate_record_set(raw), lambda: read_all(raw)):
        with contextlib.suppress(InvalidRecordBatch):
            attempt()


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=300),
    count=st.integers(min_value=-2, max_value=2**31 - 1),
    codec=st.integers(min_value=0, max_value=7),
)
def test_random_records_section_behind_a_valid_header(body: bytes, count: int, codec: int) -> None:
    batch = bytearray(BATCHES[Compression.NONE][:61]) + body
    struct.pack_into(">i", batch, 8, len(batch) - 12)
    struct.pack_into(">h", batch, 21, codec)
    struct.pack_into(">i", batch, 57, count)
    write_crc(batch)
    with contextlib.suppress(InvalidRecordBatch):
        list(iter_records(batch, verify_crc=True))

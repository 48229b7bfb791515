"""Build v2 batches and read them back: every codec, nulls, headers, timestamps, control batches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.records import (
    Compression,
    ControlRecordType,
    InvalidRecordBatch,
    Record,
    TimestampType,
    build_batch,
    build_control_batch,
    decode_batch,
    iter_records,
    read_control_record,
    read_header,
)
from protocol.records.header import is_crc_valid, set_base_offset, set_partition_leader_epoch

ALL_CODECS = list(Compression)


def sample_records(base: int = 0) -> list[Record]:
    return [
        Record(base, 1_700_000_000_000, b"key-0", b"value-0", [("trace", b"abc"), ("empty", b"")]),
        Record(base + 1, 1_700_000_000_005, None, b"null key", []),
        Record(base + 2, 1_699_999_999_000, b"tombstone", None, [("nullvalue", None)]),
        Record(base + 3, 1_700_000_000_001, b"", b"", [("\u00e9t\u00e9", b"\x00\xff")]),
        Record(base + 4, 1_700_000_000_002, b"big", b"x" * 100_000, []),
    ]


@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_round_trip_every_codec(codec: Compression) -> None:
    records = sample_records(base=40)
    batch = build_batch(records, base_offset=40, compression=codec)
    header, decoded = decode_batch(batch, verify_crc=True)
    assert list(decoded) == records
    assert header.compression == codec
    assert header.base_offset == 40
    assert header.last_offset == 44
    assert header.records_count == 5
    assert header.base_timestamp == 1_700_000_000_000
    assert header.max_timestamp == 1_700_000_000_005
    assert header.size == len(batch)
    assert is_crc_valid(batch)


def test_compressed_batch_is_smaller_than_uncompressed() -> None:
    records = [Record(i, 0, None, b"the same words again " * 20, []) for i in range(50)]
    plain = len(build_batch(records))
    for codec in (Compression.GZIP, Compression.SNAPPY, Compression.LZ4, Compression.ZSTD):
        assert len(build_batch(records, compression=codec)) < plain // 4, codec


def test_producer_fields_and_attributes_are_written() -> None:
    batch = build_batch(
        sample_records(),
        producer_id=77,
        producer_epoch=3,
        base_sequence=10,
        is_transactional=True,
        partition_leader_epoch=9,
    )
    header = read_header(batch)
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (77, 3, 10)
    assert header.is_transactional and not header.is_control
    assert header.partition_leader_epoch == 9
    assert header.last_sequence == 14
    assert header.timestamp_type == TimestampType.CREATE_TIME


def test_offsets_are_absolute_and_may_have_gaps() -> None:
    records = [Record(100, 5, b"a", b"1", []), Record(103, 6, b"b", b"2", [])]
    batch = build_batch(records, base_offset=100, last_offset_delta=7)
    header, decoded = decode_batch(batch)
    assert [r.offset for r in decoded] == [100, 103]
    assert header.last_offset == 107
    assert header.records_count == 2


def test_rewriting_base_offset_and_epoch_in_place_keeps_crc_and_moves_records() -> None:
    buf = bytearray(build_batch(sample_records(), compression=Compression.LZ4))
    set_base_offset(buf, 1000)
    set_partition_leader_epoch(buf, 4)
    assert is_crc_valid(buf)
    assert [r.offset for r in iter_records(buf, verify_crc=True)] == [1000, 1001, 1002, 1003, 1004]


def test_log_append_time_batch_shows_its_max_timestamp_on_every_record() -> None:
    batch = build_batch(sample_records(), timestamp_type=TimestampType.LOG_APPEND_TIME, max_timestamp=42)
    header, decoded = decode_batch(batch)
    assert header.timestamp_type == TimestampType.LOG_APPEND_TIME
    assert {r.timestamp for r in decoded} == {42}


def test_delete_horizon_becomes_base_timestamp_and_record_times_survive() -> None:
    records = sample_records()
    batch = build_batch(records, delete_horizon=1_800_000_000_000)
    header = read_header(batch)
    assert header.attributes & 0x40
    assert header.base_timestamp == 1_800_000_000_000
    assert [r.timestamp for r in iter_records(batch)] == [r.timestamp for r in records]


def test_empty_batch_keeps_its_offset_range() -> None:
    batch = build_batch([], base_offset=10, last_offset_delta=4, producer_id=5, producer_epoch=0)
    header, decoded = decode_batch(batch, verify_crc=True)
    assert list(decoded) == []
    assert (header.base_offset, header.last_offset, header.records_count) == (10, 14, 0)


@pytest.mark.parametrize("commit", [True, False])
def test_control_batch_round_trip(commit: bool) -> None:
    batch = build_control_batch(
        commit, producer_id=12, producer_epoch=2, coordinator_epoch=6, base_offset=300, timestamp=1234
    )
    header, decoded = decode_batch(batch, verify_crc=True)
    assert header.is_control and header.is_transactional
    assert (header.producer_id, header.producer_epoch, header.base_offset) == (12, 2, 300)
    assert header.max_timestamp == 1234
    (record,) = list(decoded)
    assert record.key == (b"\x00\x00\x00\x01" if commit else b"\x00\x00\x00\x00")
    assert record.value == b"\x00\x00\x00\x00\x00\x06"
    control = read_control_record(record)
    assert control.type == (ControlRecordType.COMMIT if commit else ControlRecordType.ABORT)
    assert control.coordinator_epoch == 6
    assert control.version == 0


def test_control_record_with_bad_key_is_rejected() -> None:
    with pytest.raises(InvalidRecordBatch, match="control record"):
        read_control_record(Record(0, 0, b"\x00", None, []))
    with pytest.raises(InvalidRecordBatch, match="unknown control record type"):
        read_control_record(Record(0, 0, b"\x00\x00\x00\x63", None, []))
    with pytest.raises(InvalidRecordBatch, match="marker value"):
        read_control_record(Record(0, 0, b"\x00\x00\x00\x01", b"\x00", []))


header_lists = st.lists(st.tuples(st.text(max_size=8), st.one_of(st.none(), st.binary(max_size=16))), max_size=3)
record_fields = st.tuples(
    st.integers(min_value=0, max_value=2**20),  # offset gap before this record
    st.integers(min_value=-(2**40), max_value=2**40),  # timestamp
    st.one_of(st.none(), st.binary(max_size=64)),
    st.one_of(st.none(), st.binary(max_size=300)),
    header_lists,
)


@settings(max_examples=60, deadline=None)
@given(
    fields=st.lists(record_fields, max_size=20),
    base=st.integers(min_value=0, max_value=2**62),
    codec=st.sampled_from(ALL_CODECS),
)
def test_random_records_round_trip(
    fields: list[tuple[int, int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]],
    base: int,
    codec: Compression,
) -> None:
    records = []
    offset = base
    for gap, timestamp, key, value, headers in fields:
        offset += gap
        records.append(Record(offset, timestamp, key, value, headers))
        offset += 1
    batch = build_batch(records, base_offset=base, compression=codec)
    header, decoded = decode_batch(batch, verify_crc=True)
    assert list(decoded) == records
    assert header.records_count == len(records)


def test_offset_delta_beyond_32_bits_is_the_callers_error() -> None:
    with pytest.raises(ValueError, match="does not fit in 32 bits"):
        build_batch([Record(0, 0, None, b"a", []), Record(2**31, 0, None, b"b", [])])

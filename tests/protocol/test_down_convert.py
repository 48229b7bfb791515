"""Down-conversion of stored v2 batches to the magic-0/1 message sets Fetch v0-3 answers with.

What we write is read back three ways: by our own legacy reader, and by the legacy record readers
of two real clients, kafka-python (``MemoryRecords``/``LegacyRecordBatch``, what its consumer uses
on Fetch v0-3 responses) and aiokafka (its compiled reader).
"""

from __future__ import annotations

import struct
import zlib

import pytest
import xxhash
from aiokafka.record.memory_records import MemoryRecords as AioMemoryRecords
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.record.legacy_records import LegacyRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

from protocol.records import (
    Compression,
    InvalidRecordBatch,
    Record,
    TimestampType,
    build_batch,
    build_control_batch,
    decode_batch,
    decompress,
    iter_entries,
    iter_legacy_messages,
    read_legacy_message,
)
from protocol.records.down_convert import UnsupportedCompressionForMagic, down_convert
from protocol.records.legacy import build_legacy_message, build_legacy_messages

LEGACY_CODECS = [Compression.NONE, Compression.GZIP, Compression.SNAPPY, Compression.LZ4]
MAGICS = [0, 1]

# offsets with a gap (as after compaction), null and empty keys and values, headers, a big value
RECORDS = [
    Record(100, 1_700_000_000_000, b"user-1", b'{"clicks": 3}', [("content-type", b"json")]),
    Record(101, 1_700_000_000_010, None, b"no key", []),
    Record(103, 1_700_000_000_005, b"user-2", None, [("deleted", b"yes")]),
    Record(104, 1_700_000_000_020, b"", b"", []),
    Record(107, 1_700_000_000_030, b"big", b"0123456789" * 20_000, [("n", None)]),
]


def expected(records: list[Record], magic: int) -> list[tuple[int, int, bytes | None, bytes | None]]:
    return [(r.offset, r.timestamp if magic else -1, r.key, r.value) for r in records]


def ours(data: bytes) -> list[tuple[int, int, bytes | None, bytes | None]]:
    return [(m.offset, m.timestamp, m.key, m.value) for m in iter_legacy_messages(data)]


def kafka_python(data: bytes) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """What kafka-python's consumer sees; every batch and record CRC must check out."""
    out = []
    for batch in MemoryRecords(data):
        assert batch.validate_crc()
        for r in batch:
            assert r.validate_crc()
            out.append((r.offset, -1 if r.timestamp is None else r.timestamp, r.key, r.value))
    return out


@pytest.mark.parametrize("magic", MAGICS)
@pytest.mark.parametrize("codec", LEGACY_CODECS, ids=lambda c: c.name)
def test_round_trip_keeps_offsets_keys_values_and_timestamps(magic: int, codec: Compression) -> None:
    data = down_convert(build_batch(RECORDS, compression=codec), magic)
    assert ours(data) == expected(RECORDS, magic)
    entries = [read_legacy_message(entry) for _, _, entry in iter_entries(data)]
    assert {e.magic for e in entries} == {magic}
    if codec == Compression.NONE:
        assert [e.compression for e in entries] == [Compression.NONE] * len(RECORDS)
    else:
        (wrapper,) = entries
        assert wrapper.compression == codec
        assert wrapper.offset == 107  # the absolute offset of the last inner message
        assert wrapper.timestamp == (1_700_000_000_030 if magic else -1)  # the max timestamp
        assert wrapper.value is not None
        inner = decompress(codec, wrapper.value, lz4_legacy_header_checksum=magic == 0)
        inner_offsets = [offset for offset, _, _ in iter_entries(inner)]
        assert inner_offsets == ([0, 1, 3, 4, 7] if magic else [100, 101, 103, 104, 107])


@pytest.mark.parametrize("magic", MAGICS)
@pytest.mark.parametrize("codec", LEGACY_CODECS, ids=lambda c: c.name)
def test_kafka_python_reads_what_we_write(magic: int, codec: Compression) -> None:
    data = down_convert(build_batch(RECORDS, compression=codec), magic)
    assert kafka_python(data) == expected(RECORDS, magic)


# aiokafka refuses magic-0 LZ4 whatever its bytes (KAFKA-3160): kafka-python covers that pair
AIOKAFKA_CASES = [(m, c) for m in MAGICS for c in LEGACY_CODECS if (m, c) != (0, Compression.LZ4)]


@pytest.mark.parametrize(("magic", "codec"), AIOKAFKA_CASES, ids=lambda x: str(getattr(x, "name", x)))
def test_aiokafka_reads_what_we_write(magic: int, codec: Compression) -> None:
    records = AioMemoryRecords(down_convert(build_batch(RECORDS, compression=codec), magic))
    seen = []
    while records.has_next():
        batch = records.next_batch()
        assert batch is not None
        for r in batch:
            seen.append((r.offset, -1 if r.timestamp is None else r.timestamp, r.key, r.value))
    assert seen == expected(RECORDS, magic)


@pytest.mark.parametrize("codec", LEGACY_CODECS, ids=lambda c: c.name)
def test_log_append_time_batch_stamps_every_message_with_the_batch_time(codec: Compression) -> None:
    batch = build_batch(RECORDS, compression=codec, timestamp_type=TimestampType.LOG_APPEND_TIME, max_timestamp=42)
    v1 = down_convert(batch, 1)
    assert [(m.timestamp, m.timestamp_type) for m in iter_legacy_messages(v1)] == [
        (42, TimestampType.LOG_APPEND_TIME)
    ] * len(RECORDS)
    assert all(read_legacy_message(e).timestamp_type == TimestampType.LOG_APPEND_TIME for _, _, e in iter_entries(v1))
    seen = [(r.timestamp, r.timestamp_type) for b in MemoryRecords(v1) for r in b]
    assert seen == [(42, 1)] * len(RECORDS)  # kafka-python: 1 = LogAppendTime
    v0 = down_convert(batch, 0)
    assert [(m.timestamp, m.attributes & 0x08) for m in iter_legacy_messages(v0)] == [(-1, 0)] * len(RECORDS)


def test_first_offset_drops_earlier_records_of_uncompressed_batches_only() -> None:
    plain = build_batch(RECORDS[:3])  # 100, 101, 103
    zipped = build_batch(RECORDS[3:], compression=Compression.GZIP)  # 104, 107
    data = plain + zipped
    for magic in MAGICS:
        assert [m.offset for m in iter_legacy_messages(down_convert(data, magic, first_offset=101))] == [
            101,
            103,
            104,
            107,
        ]
        # a compressed batch stays whole, as Kafka keeps it: a legacy wrapper is one unit
        assert [m.offset for m in iter_legacy_messages(down_convert(data, magic, first_offset=105))] == [104, 107]
        # an uncompressed batch wholly below the fetch offset writes nothing
        assert [m.offset for m in iter_legacy_messages(down_convert(plain, magic, first_offset=104))] == []


def test_control_batches_are_skipped_and_transactional_data_kept() -> None:
    txn = build_batch(RECORDS[:2], is_transactional=True, producer_id=9, producer_epoch=1)
    marker = build_control_batch(True, 9, 1, 5, base_offset=102)
    zstd_marker = build_batch(
        list(decode_batch(marker)[1]),
        compression=Compression.ZSTD,
        is_control=True,
        is_transactional=True,
        producer_id=9,
        producer_epoch=1,
    )
    after = build_batch(RECORDS[3:4])
    for magic in MAGICS:
        data = down_convert(txn + marker + zstd_marker + after, magic)
        assert ours(data) == expected([RECORDS[0], RECORDS[1], RECORDS[3]], magic)
    assert down_convert(marker, 1) == b""


@pytest.mark.parametrize("cut", [1, 30, 61, 70])
def test_partial_trailing_batch_is_dropped(cut: int) -> None:
    first = build_batch(RECORDS[:2])
    second = build_batch(RECORDS[2:], compression=Compression.SNAPPY)
    data = down_convert(first + second[: len(second) - cut], 1)
    assert ours(data) == expected(RECORDS[:2], 1)
    assert down_convert(second[:cut], 1) == b""


def test_zstd_data_raises_unsupported_compression_for_the_broker_to_answer() -> None:
    data = build_batch(RECORDS[:1]) + build_batch(RECORDS[1:], compression=Compression.ZSTD)
    for magic in MAGICS:
        with pytest.raises(UnsupportedCompressionForMagic, match="zstd") as caught:
            down_convert(data, magic)
        assert (caught.value.compression, caught.value.magic, caught.value.offset) == (Compression.ZSTD, magic, 101)
        assert not isinstance(caught.value, InvalidRecordBatch)  # not the data's fault: no CORRUPT_MESSAGE
    with pytest.raises(UnsupportedCompressionForMagic):
        build_legacy_messages(RECORDS, 1, compression=Compression.ZSTD)


def test_empty_inputs_and_empty_batches_write_nothing() -> None:
    assert down_convert(b"", 0) == b""
    emptied = build_batch([], base_offset=50, last_offset_delta=9)  # a batch compaction emptied
    assert down_convert(emptied + build_batch(RECORDS[:1]), 1) == down_convert(build_batch(RECORDS[:1]), 1)
    assert build_legacy_messages([], 1, compression=Compression.GZIP) == b""


def test_max_bytes_stops_after_the_batch_that_reaches_it() -> None:
    batches = [build_batch([Record(i, 1000 + i, b"k", b"v" * 100, [])]) for i in range(10)]
    whole = down_convert(b"".join(batches), 1)
    one = len(whole) // 10
    limited = down_convert(b"".join(batches), 1, max_bytes=3 * one - 1)
    assert [m.offset for m in iter_legacy_messages(limited)] == [0, 1, 2]
    assert limited == whole[: 3 * one]
    assert down_convert(b"".join(batches), 1, max_bytes=1) == whole[:one]  # at least one batch


def test_wrong_target_magic_and_non_v2_input_are_refused() -> None:
    with pytest.raises(ValueError, match="magic 0 or 1, not 2"):
        down_convert(build_batch(RECORDS), 2)
    legacy = build_legacy_message(0, 1, b"k", b"v", timestamp=5)
    with pytest.raises(InvalidRecordBatch, match="magic 1"):
        down_convert(legacy, 1)


def test_magic_0_lz4_wrapper_carries_kafka_3160_header_checksum() -> None:
    """Kafka writes magic-0 LZ4 with the 0.8/0.9 header checksum (XXH32 over the frame magic too).

    The clients that read magic 0 (Fetch v0-1) are of that era and verify that exact byte.
    """
    for magic in MAGICS:
        (wrapper,) = [
            read_legacy_message(e)
            for _, _, e in iter_entries(down_convert(build_batch(RECORDS, compression=Compression.LZ4), magic))
        ]
        frame = wrapper.value
        assert frame is not None and frame[:4] == b"\x04\x22\x4d\x18"
        assert not frame[4] & 0x09  # no content size, no dictionary id: the HC byte is at 6
        kafka_09_hc = (xxhash.xxh32_intdigest(frame[0:6]) >> 8) & 0xFF
        standard_hc = (xxhash.xxh32_intdigest(frame[4:6]) >> 8) & 0xFF
        assert frame[6] == (kafka_09_hc if magic == 0 else standard_hc)
        assert kafka_09_hc != standard_hc


@pytest.mark.parametrize("magic", MAGICS)
def test_uncompressed_messages_are_byte_identical_to_kafka_python(magic: int) -> None:
    builder = LegacyRecordBatchBuilder(magic=magic, compression_type=0, batch_size=1 << 22)
    ours_bytes = b""
    for r in RECORDS:
        builder.append(r.offset, timestamp=r.timestamp, key=r.key, value=r.value)
        ours_bytes += build_legacy_message(r.offset, magic, r.key, r.value, timestamp=r.timestamp)
    assert ours_bytes == bytes(builder.build())
    assert build_legacy_messages(RECORDS, magic) == ours_bytes


def test_build_legacy_message_layout() -> None:
    got = build_legacy_message(
        7, 1, b"k", b"value", timestamp=9, timestamp_type=TimestampType.LOG_APPEND_TIME, compression=Compression.GZIP
    )
    body = struct.pack(">bbq", 1, 0x08 | 1, 9) + struct.pack(">i", 1) + b"k" + struct.pack(">i", 5) + b"value"
    assert got == struct.pack(">qiI", 7, len(body) + 4, zlib.crc32(body)) + body
    v0 = build_legacy_message(3, 0, None, None, timestamp=9, timestamp_type=TimestampType.LOG_APPEND_TIME)
    body = struct.pack(">bbii", 0, 0, -1, -1)  # magic 0: no timestamp, no timestamp-type bit
    assert v0 == struct.pack(">qiI", 3, len(body) + 4, zlib.crc32(body)) + body


_record_fields = st.tuples(
    st.integers(min_value=0, max_value=3),  # offset gap
    st.integers(min_value=-1, max_value=2**41),
    st.none() | st.binary(max_size=40),
    st.none() | st.binary(max_size=200),
    st.lists(st.tuples(st.text(max_size=5), st.none() | st.binary(max_size=5)), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(_record_fields, min_size=1, max_size=12),
    base=st.integers(min_value=0, max_value=2**40),
    codec=st.sampled_from(LEGACY_CODECS),
    magic=st.sampled_from(MAGICS),
    append_time=st.booleans(),
    skip=st.integers(min_value=0, max_value=20),
)
def test_down_conversion_matches_the_records_property(
    rows: list[tuple[int, int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]],
    base: int,
    codec: Compression,
    magic: int,
    append_time: bool,
    skip: int,
) -> None:
    records = []
    offset = base
    for gap, ts, key, value, headers in rows:
        offset += gap
        records.append(Record(offset, ts, key, value, headers))
        offset += 1
    kind = TimestampType.LOG_APPEND_TIME if append_time else TimestampType.CREATE_TIME
    batch = build_batch(records, compression=codec, timestamp_type=kind)
    first_offset = base + skip
    data = down_convert(batch, magic, first_offset=first_offset)
    _, stored = decode_batch(batch)
    kept = [r for r in stored if codec != Compression.NONE or r.offset >= first_offset]
    assert ours(data) == expected(kept, magic)
    assert kafka_python(data) == expected(kept, magic)


_FUZZ_SEEDS = [build_batch(RECORDS[:3], compression=c) + build_batch(RECORDS[3:4]) for c in LEGACY_CODECS]


@settings(max_examples=400, deadline=None)
@given(
    seed=st.sampled_from(_FUZZ_SEEDS),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
    magic=st.sampled_from(MAGICS),
)
def test_damaged_stored_data_converts_or_raises_invalid_record_batch(
    seed: bytes, edits: list[tuple[int, int]], magic: int
) -> None:
    """Stored bytes are not re-checked against their CRC here: damage must still fail cleanly."""
    data = bytearray(seed)
    for where, value in edits:
        data[where % len(data)] = value
    try:
        out = down_convert(data, magic, max_decompressed_size=1 << 20)
    except InvalidRecordBatch:
        return
    except UnsupportedCompressionForMagic as e:  # a damaged codec field may read as zstd
        assert e.compression == Compression.ZSTD
        return
    list(iter_legacy_messages(out))  # whatever came out is a well-formed legacy message set


def test_offsets_and_timestamps_out_of_int64_range_are_the_datas_fault() -> None:
    batch = bytearray(build_batch([Record(0, 2**63 - 1, None, b"a", []), Record(1, 2**63 - 1, None, b"b", [])]))
    struct.pack_into(">q", batch, 0, 2**63 - 1)  # base offset + delta 1 overflows int64
    with pytest.raises(InvalidRecordBatch, match="int64"):
        down_convert(bytes(batch), 1)

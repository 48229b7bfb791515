"""Legacy message sets (magic 0 and 1), built by hand and by kafka-python, read and turned into v2."""

from __future__ import annotations

import gzip
import struct
import zlib

import pytest
from kafka.record.legacy_records import LegacyRecordBatchBuilder

from protocol.records import (
    Compression,
    CorruptRecordBatch,
    InvalidRecordBatch,
    LegacyMessage,
    Record,
    TimestampType,
    convert_legacy_to_v2,
    decode_batch,
    iter_legacy_messages,
    read_legacy_message,
    record_set_magic,
    validate_record_set,
)


def _field(data: bytes | None) -> bytes:
    return struct.pack(">i", -1) if data is None else struct.pack(">i", len(data)) + data


def message(
    offset: int,
    magic: int,
    key: bytes | None,
    value: bytes | None,
    *,
    attributes: int = 0,
    timestamp: int = 0,
) -> bytes:
    body = struct.pack(">bb", magic, attributes)
    if magic == 1:
        body += struct.pack(">q", timestamp)
    body += _field(key) + _field(value)
    crc_and_body = struct.pack(">I", zlib.crc32(body)) + body
    return struct.pack(">qi", offset, len(crc_and_body)) + crc_and_body


def test_v0_messages_are_read_and_converted() -> None:
    legacy = message(0, 0, b"k0", b"v0") + message(1, 0, None, b"v1") + message(2, 0, b"k2", None)
    assert record_set_magic(legacy) == 0
    messages = list(iter_legacy_messages(legacy))
    assert messages == [
        LegacyMessage(0, 0, 0, -1, b"k0", b"v0"),
        LegacyMessage(1, 0, 0, -1, None, b"v1"),
        LegacyMessage(2, 0, 0, -1, b"k2", None),
    ]
    batch = convert_legacy_to_v2(legacy)
    assert validate_record_set(batch)[0].compression == Compression.NONE
    header, records = decode_batch(batch, verify_crc=True)
    assert list(records) == [
        Record(0, -1, b"k0", b"v0", []),
        Record(1, -1, None, b"v1", []),
        Record(2, -1, b"k2", None, []),
    ]
    assert header.max_timestamp == -1


def test_v1_messages_keep_their_timestamps() -> None:
    legacy = message(5, 1, b"a", b"1", timestamp=1000) + message(6, 1, b"b", b"2", timestamp=900)
    header, records = decode_batch(convert_legacy_to_v2(legacy, base_offset=0))
    assert [(r.offset, r.timestamp, r.key) for r in records] == [(0, 1000, b"a"), (1, 900, b"b")]
    assert header.max_timestamp == 1000
    assert header.timestamp_type == TimestampType.CREATE_TIME


@pytest.mark.parametrize("magic", [0, 1])
def test_gzip_wrapper_is_opened_with_absolute_offsets(magic: int) -> None:
    inner_offsets = [0, 1, 2] if magic == 1 else [10, 11, 12]  # v1 relative, v0 absolute
    inner = b"".join(
        message(o, magic, b"key%d" % i, b"value%d" % i, timestamp=2000 + i) for i, o in enumerate(inner_offsets)
    )
    wrapper = message(12, magic, None, gzip.compress(inner), attributes=1, timestamp=2002)
    messages = list(iter_legacy_messages(wrapper))
    assert [m.offset for m in messages] == [10, 11, 12]
    assert [m.key for m in messages] == [b"key0", b"key1", b"key2"]
    assert [m.timestamp for m in messages] == ([2000, 2001, 2002] if magic == 1 else [-1, -1, -1])
    batch = convert_legacy_to_v2(wrapper)
    header, records = decode_batch(batch, verify_crc=True)
    assert header.compression == Compression.GZIP
    assert [(r.offset, r.value) for r in records] == [(10, b"value0"), (11, b"value1"), (12, b"value2")]


def test_log_append_time_wrapper_stamps_inner_messages() -> None:
    inner = message(0, 1, None, b"x", timestamp=1) + message(1, 1, None, b"y", timestamp=2)
    wrapper = message(1, 1, None, gzip.compress(inner), attributes=1 | 0x08, timestamp=777)
    assert {m.timestamp for m in iter_legacy_messages(wrapper)} == {777}
    header, records = decode_batch(convert_legacy_to_v2(wrapper, compression=Compression.NONE))
    assert header.timestamp_type == TimestampType.LOG_APPEND_TIME
    assert header.compression == Compression.NONE
    assert [r.timestamp for r in records] == [777, 777]


def test_bad_crc_is_corrupt() -> None:
    broken = bytearray(message(0, 1, b"k", b"value", timestamp=5))
    broken[-1] ^= 0xFF
    with pytest.raises(CorruptRecordBatch, match="stored crc"):
        read_legacy_message(broken)


def test_nested_compression_and_mixed_magic_are_invalid() -> None:
    inner_wrapper = message(0, 1, None, gzip.compress(message(0, 1, None, b"x")), attributes=1)
    outer = message(0, 1, None, gzip.compress(inner_wrapper), attributes=1)
    with pytest.raises(InvalidRecordBatch, match="another compressed"):
        list(iter_legacy_messages(outer))
    mixed = message(0, 1, None, gzip.compress(message(0, 0, None, b"x")), attributes=1)
    with pytest.raises(InvalidRecordBatch, match="magic"):
        list(iter_legacy_messages(mixed))


def test_partial_trailing_message_ends_the_walk_and_empty_set_cannot_convert() -> None:
    one = message(0, 1, b"k", b"v")
    assert len(list(iter_legacy_messages(one + one[:10]))) == 1
    with pytest.raises(InvalidRecordBatch, match="no complete message"):
        convert_legacy_to_v2(one[:20])


@pytest.mark.parametrize("magic", [0, 1])
@pytest.mark.parametrize("codec", [0, 1, 2, 3], ids=["none", "gzip", "snappy", "lz4"])
def test_kafka_python_legacy_batches_convert(magic: int, codec: int) -> None:
    builder = LegacyRecordBatchBuilder(magic=magic, compression_type=codec, batch_size=1 << 20)
    for i in range(5):
        builder.append(i, timestamp=1_600_000_000_000 + i, key=None if i == 2 else b"k%d" % i, value=b"v%d" % i)
    legacy = bytes(builder.build())
    header, records = decode_batch(convert_legacy_to_v2(legacy, base_offset=100), verify_crc=True)
    got = list(records)
    assert [r.offset for r in got] == [100, 101, 102, 103, 104]
    assert [r.key for r in got] == [b"k0", b"k1", None, b"k3", b"k4"]
    assert [r.value for r in got] == [b"v0", b"v1", b"v2", b"v3", b"v4"]
    expected_ts = [1_600_000_000_000 + i for i in range(5)] if magic == 1 else [-1] * 5
    assert [r.timestamp for r in got] == expected_ts
    assert header.compression == Compression(codec)


def test_offsets_that_do_not_increase_are_renumbered() -> None:
    legacy = message(7, 1, b"a", b"1") + message(7, 1, b"b", b"2") + message(3, 1, b"c", b"3")
    _, records = decode_batch(convert_legacy_to_v2(legacy))
    assert [(r.offset, r.key) for r in records] == [(7, b"a"), (8, b"b"), (9, b"c")]


def test_negative_timestamp_other_than_minus_one_is_invalid() -> None:
    legacy = message(0, 1, b"a", b"1", timestamp=-5)
    with pytest.raises(InvalidRecordBatch, match="invalid timestamp -5"):
        convert_legacy_to_v2(legacy)

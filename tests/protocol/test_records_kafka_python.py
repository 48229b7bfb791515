"""Interoperability with a real client's record code: kafka-python builds, we read; we build, it reads.

kafka-python's DefaultRecordBatchBuilder is the code its producer uses to write v2 batches, and
DefaultRecordBatch what its consumer uses to read fetched ones, with every codec it supports.
"""

from __future__ import annotations

import pytest
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

from protocol.records import (
    Compression,
    Record,
    TimestampType,
    build_batch,
    build_control_batch,
    decode_batch,
    validate_record_set,
)

CODECS = list(Compression)

ROWS: list[tuple[int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]] = [
    (1_700_000_000_000, b"user-1", b'{"clicks": 3}', [("content-type", b"json"), ("trace", b"\x01\x02")]),
    (1_700_000_000_010, None, b"no key", []),
    (1_700_000_000_005, b"user-2", None, [("deleted", b"yes")]),
    (1_700_000_000_020, b"", b"", []),
    (1_700_000_000_030, b"big", b"0123456789" * 20_000, [("n", None)]),
]


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)
def test_we_read_kafka_python_batches(codec: Compression) -> None:
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=int(codec),
        is_transactional=False,
        producer_id=4000,
        producer_epoch=2,
        base_sequence=17,
        batch_size=1 << 22,
    )
    for i, (ts, key, value, headers) in enumerate(ROWS):
        builder.append(i, timestamp=ts, key=key, value=value, headers=headers)
    raw = bytes(builder.build())

    (header,) = validate_record_set(raw)
    assert header.compression == codec
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (4000, 2, 17)
    assert header.max_timestamp == 1_700_000_000_030
    _, records = decode_batch(raw, verify_crc=True)
    assert list(records) == [
        Record(i, ts, key, value, list(headers)) for i, (ts, key, value, headers) in enumerate(ROWS)
    ]


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)
def test_kafka_python_reads_our_batches(codec: Compression) -> None:
    records = [Record(50 + i, ts, key, value, headers) for i, (ts, key, value, headers) in enumerate(ROWS)]
    raw = build_batch(records, base_offset=50, compression=codec, producer_id=9, producer_epoch=1, base_sequence=0)
    theirs = DefaultRecordBatch(raw)
    assert theirs.validate_crc()
    assert theirs.compression_type == int(codec)
    assert (theirs.base_offset, theirs.last_offset, theirs.producer_id) == (50, 54, 9)
    got = [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in theirs]
    assert got == [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in records]


def test_kafka_python_sees_log_append_time() -> None:
    records = [Record(0, 5, b"k", b"v", [])]
    raw = build_batch(records, timestamp_type=TimestampType.LOG_APPEND_TIME, max_timestamp=99)
    theirs = DefaultRecordBatch(raw)
    assert theirs.timestamp_type == 1
    assert [r.timestamp for r in theirs] == [99]


def test_kafka_python_reads_our_commit_marker() -> None:
    theirs = DefaultRecordBatch(build_control_batch(True, 7, 3, 11, base_offset=20, timestamp=1))
    assert theirs.is_control_batch and theirs.is_transactional
    (marker,) = list(theirs)
    assert marker.commit and not marker.abort

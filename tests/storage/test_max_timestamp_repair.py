"""A batch whose header has no max timestamp (-1) gets the largest record timestamp on append.

sarama 1.22 (Go) never fills in a batch's max timestamp: it sends -1 beside a valid first timestamp.
Kafka's LogValidator recomputes the max timestamp of every v2 batch from its records on a leader
append (and rewrites the CRC), so ListOffsets by time, time-based retention and the time index work
for such a producer's records; kafkish does the same for a batch whose max timestamp is below its
first timestamp (the only way a client's header can be wrong without the batch being corrupt).
"""

from __future__ import annotations

import struct

import pytest

from protocol.records import Record, build_batch
from protocol.records.header import Compression, is_crc_valid, read_header, write_crc
from storage.config import LogConfig
from tests.storage.batches import make_batch
from tests.storage.conftest import OpenLog

MAX_TIMESTAMP_AT = 35


def without_max_timestamp(batch: bytes) -> bytes:
    buf = bytearray(batch)
    struct.pack_into(">q", buf, MAX_TIMESTAMP_AT, -1)
    write_crc(buf)
    return bytes(buf)


@pytest.mark.parametrize("compression", [Compression.NONE, Compression.GZIP])
def test_a_missing_max_timestamp_is_taken_from_the_records(open_log: OpenLog, compression: Compression) -> None:
    log = open_log(LogConfig(index_interval_bytes=1))
    records = [Record(i, ts, None, b"v") for i, ts in enumerate([100, 300, 200])]
    info = log.append_as_leader(without_max_timestamp(build_batch(records, compression=compression)), 0)
    log.append_as_leader(without_max_timestamp(make_batch([b"d", b"e"], timestamps=[400, 500])), 0)
    assert info.max_timestamp == 300
    data = log.read(0, 1 << 20).read_bytes()
    first = read_header(data)
    assert first.max_timestamp == 300 and first.base_timestamp == 100 and is_crc_valid(data)
    assert read_header(data, first.size).max_timestamp == 500 and is_crc_valid(data, first.size)
    assert log.offset_for_timestamp(0) == (0, 100)
    # record-exact when uncompressed; batch-granular (the batch's last offset) for a compressed batch
    # in a log without a decompress hook, as with any compressed batch
    assert log.offset_for_timestamp(150) == ((1, 300) if compression is Compression.NONE else (2, 300))
    assert log.offset_for_timestamp(450) == (4, 500)
    assert log.offset_of_max_timestamp() == (4, 500)


def test_a_batch_without_any_timestamps_is_left_alone(open_log: OpenLog) -> None:
    log = open_log()
    batch = bytearray(make_batch([b"a"], timestamps=[-1]))
    log.append_as_leader(bytes(batch), 0)
    assert read_header(log.read(0, 1 << 20).read_bytes()).max_timestamp == -1

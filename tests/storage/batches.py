"""Test helper: build simple uncompressed v2 record batches (independent of protocol.records builders)."""

from __future__ import annotations

import struct

from protocol.records.header import write_crc


def _varint(value: int) -> bytes:
    z = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _record(offset_delta: int, ts_delta: int, value: bytes) -> bytes:
    body = b"\x00" + _varint(ts_delta) + _varint(offset_delta) + _varint(-1) + _varint(len(value)) + value
    body += _varint(0)  # no headers
    return _varint(len(body)) + body


def make_batch(
    values: list[bytes],
    *,
    base_offset: int = 0,
    timestamps: list[int] | None = None,
    epoch: int = -1,
) -> bytes:
    """One batch of len(values) records; timestamps default to 1000 + i."""
    if timestamps is None:
        timestamps = [1000 + i for i in range(len(values))]
    base_ts = timestamps[0]
    records = b"".join(_record(i, ts - base_ts, v) for i, (ts, v) in enumerate(zip(timestamps, values, strict=True)))
    buf = bytearray(61 + len(records))
    struct.pack_into(
        ">qiibIhiqqqhii", buf, 0,
        base_offset, len(buf) - 12, epoch, 2, 0, 0, len(values) - 1,
        base_ts, max(timestamps), -1, -1, -1, len(values),
    )  # fmt: skip
    buf[61:] = records
    write_crc(buf)
    return bytes(buf)


def batch_of_size(size: int, *, timestamp: int = 1000) -> bytes:
    """One single-record batch of exactly ``size`` bytes (size >= 80)."""
    overhead = len(make_batch([b""], timestamps=[timestamp]))
    value_len = size - overhead
    # the value length varint grows with the value; adjust until exact
    for guess in range(value_len, value_len - 8, -1):
        batch = make_batch([b"x" * guess], timestamps=[timestamp])
        if len(batch) == size:
            return batch
    raise ValueError(f"cannot build a batch of exactly {size} bytes")

"""One record inside a v2 batch, and the codec of the records section.

Record layout (all integers zig-zag varints unless marked)::

    length          varint   bytes of the record after this field
    attributes      int8     unused, 0
    timestampDelta  varlong  from the batch's base timestamp
    offsetDelta     varint   from the batch's base offset
    keyLength       varint   -1 = null key
    key             bytes
    valueLength     varint   -1 = null value
    value           bytes
    headerCount     varint
    headers         headerKeyLength varint, headerKey utf-8, headerValueLength varint (-1 = null),
                    headerValue bytes

Decoding fails only with ``InvalidRecordBatch``: a record must use exactly the bytes its length says.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from protocol.records.header import InvalidRecordBatch
from protocol.varint import encode_varint, encode_varlong, read_varint, read_varlong

__all__ = ["Header", "Record", "decode_records", "encode_record"]

Buffer = bytes | bytearray | memoryview
Header = tuple[str, bytes | None]

_ZERO = b"\x00"
_NULL = encode_varint(-1)
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(slots=True)
class Record:
    """A record with absolute offset and timestamp, as a consumer sees it."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[Header] = field(default_factory=list)


def _bytes_field(data: bytes | None) -> list[bytes]:
    if data is None:
        return [_NULL]
    return [encode_varint(len(data)), data]


def encode_record(record: Record, offset_delta: int, timestamp_delta: int) -> bytes:
    """The wire form of one record, its length prefix included.

    Raises ``ValueError`` (the caller's mistake) when a delta does not fit its field.
    """
    if not _INT32_MIN <= offset_delta <= _INT32_MAX:
        raise ValueError(f"offset delta {offset_delta} of record {record.offset} does not fit in 32 bits")
    if not _INT64_MIN <= timestamp_delta <= _INT64_MAX:
        raise ValueError(f"timestamp delta {timestamp_delta} of record {record.offset} does not fit in 64 bits")
    parts = [_ZERO, encode_varlong(timestamp_delta), encode_varint(offset_delta)]
    parts += _bytes_field(record.key)
    parts += _bytes_field(record.value)
    parts.append(encode_varint(len(record.headers)))
    for name, value in record.headers:
        raw_name = name.encode()
        parts.append(encode_varint(len(raw_name)))
        parts.append(raw_name)
        parts += _bytes_field(value)
    body = b"".join(parts)
    return encode_varint(len(body)) + body


def _varint(buf: Buffer, pos: int) -> tuple[int, int]:
    """Signed varint with a fast path for the one-byte case (most lengths and deltas)."""
    b = buf[pos]
    if b < 0x80:
        return (b >> 1) ^ -(b & 1), pos + 1
    return read_varint(buf, pos)


def _bytes(buf: Buffer, pos: int, end: int, what: str) -> tuple[bytes | None, int]:
    length, pos = _varint(buf, pos)
    if length == -1:
        return None, pos
    if length < 0 or pos + length > end:
        raise InvalidRecordBatch(f"record {what} length {length} is invalid or overruns the record")
    return bytes(buf[pos : pos + length]), pos + length


def _headers(buf: Buffer, pos: int, end: int) -> tuple[list[Header], int]:
    count, pos = _varint(buf, pos)
    if count < 0 or count > end - pos:
        raise InvalidRecordBatch(f"record has an invalid header count {count}")
    headers: list[Header] = []
    for _ in range(count):
        name, pos = _bytes(buf, pos, end, "header key")
        if name is None:
            raise InvalidRecordBatch("record has a null header key")
        try:
            text = name.decode()
        except UnicodeDecodeError:
            raise InvalidRecordBatch("record header key is not valid UTF-8") from None
        value, pos = _bytes(buf, pos, end, "header value")
        headers.append((text, value))
    return headers, pos


def decode_records(
    buf: Buffer,
    count: int,
    base_offset: int,
    base_timestamp: int,
    log_append_time: int | None = None,
) -> Iterator[Record]:
    """Yield ``count`` records from ``buf``, which must hold exactly them and nothing more.

    ``log_append_time``, when given, replaces every record's timestamp (LogAppendTime batches).
    """
    pos = 0
    end = len(buf)
    try:
        for _ in range(count):
            length, pos = _varint(buf, pos)
            record_end = pos + length
            if length < 0 or record_end > end:
                raise InvalidRecordBatch(f"record length {length} at byte {pos} overruns the batch")
            pos += 1  # attributes, unused
            timestamp_delta, pos = read_varlong(buf, pos)
            offset_delta, pos = _varint(buf, pos)
            key, pos = _bytes(buf, pos, record_end, "key")
            value, pos = _bytes(buf, pos, record_end, "value")
            headers, pos = _headers(buf, pos, record_end)
            if pos != record_end:
                raise InvalidRecordBatch(
                    f"record declared {length} bytes but its fields took {length + pos - record_end}"
                )
            timestamp = base_timestamp + timestamp_delta if log_append_time is None else log_append_time
            yield Record(base_offset + offset_delta, timestamp, key, value, headers)
    except (IndexError, ValueError) as e:
        if isinstance(e, InvalidRecordBatch):
            raise
        raise InvalidRecordBatch(f"record at byte {pos} is cut short or malformed: {e}") from None
    if pos != end:
        raise InvalidRecordBatch(f"{end - pos} bytes left over after the batch's {count} records")

"""The record serde both coordinators share (Kafka's CoordinatorRecordSerde): every key and every value of
``__consumer_offsets`` and ``__transaction_state`` is an int16 version, then a struct of Kafka's schema
at that version, and nothing after it.

``declare`` gives a record schema its versions and flexible versions (they are not APIs, so nothing
else does); ``encode`` writes a key or value at a version; ``decode`` reads one back, and
``decode_record`` a key and its value (None: a tombstone). They raise the caller's error type (the
log's fault: the coordinator logs and skips the record) for anything that is not exactly one such
struct: too short, an unknown version, bad bytes, bytes left over.
"""

from __future__ import annotations

import struct as _struct
from collections.abc import Iterable
from typing import TypeVar

from protocol import codec
from protocol.exceptions import ProtocolError
from protocol.schema import Struct, VersionRange

S = TypeVar("S", bound=Struct)
K = TypeVar("K", bound=Struct)
_VERSION = _struct.Struct(">h")


def declare(schemas: Iterable[tuple[type[Struct], VersionRange, VersionRange | None]]) -> None:
    """Each (schema, versions, flexible versions): what the codec needs to read and write it."""
    for cls, versions, flexible in schemas:
        cls.__kafka_versions__ = versions
        cls.__kafka_flexible__ = flexible
        cls.__kafka_name__ = cls.__name__


def encode(message: Struct, version: int) -> bytes:
    out = bytearray(_VERSION.pack(version))
    codec.encode_into(out, message, version)
    return bytes(out)


def version_of(data: bytes) -> int | None:
    """The version a record's key or value starts with; None if it is too short to have one."""
    return None if len(data) < _VERSION.size else int(_VERSION.unpack_from(data, 0)[0])


def decode(cls: type[S], data: bytes, what: str, error: type[ValueError]) -> S:
    """``data`` as one ``cls`` record at the version it starts with; ``error`` if it is not one."""
    version = version_of(data)
    if version is None:
        raise error(f"{what} of {len(data)} bytes has no version")
    try:
        cls.check_version(version)
        message, end = codec.decode(cls, data, version, _VERSION.size)
    except ProtocolError as exc:
        raise error(f"{what}: {exc}") from None
    if end != len(data):
        raise error(f"{what}: {len(data) - end} bytes left over")
    return message


def decode_record(
    key_cls: type[K], value_cls: type[S], key: bytes, value: bytes | None, what: str, error: type[ValueError]
) -> tuple[K, S | None]:
    """A record's key and value (None: a tombstone), the key read first; ``what`` names the record."""
    decoded_key = decode(key_cls, key, f"{what} key", error)
    return decoded_key, None if value is None else decode(value_cls, value, f"{what} value", error)

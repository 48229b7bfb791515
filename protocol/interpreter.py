"""The reference codec: walks a message's field specs one by one. Simple, slow and exact.

It is the specification the compiled codec (``protocol.codec``) is tested against, and it is what
produces the precise ``DecodeError`` (field path and byte offset) when the compiled decoder meets bad
bytes. Every length is checked against the bytes actually present before anything is allocated, and
a string may hold at most ``MAX_STRING`` bytes, compact or not, as in Kafka (which refuses a longer one
when it parses a message, and cannot write one).
"""

from __future__ import annotations

import struct as _struct
from typing import Any

from protocol.exceptions import DecodeError, EncodeError
from protocol.schema import BOOL, MAX_STRING, RECORDS, STRING, UUID, FieldSpec, Struct, WireType, clip_text
from protocol.varint import encode_uvarint, read_uvarint

_FIXED: dict[str, _struct.Struct] = {}


def _fixed(wire: WireType) -> _struct.Struct:
    packer = _FIXED.get(wire.name)
    if packer is None:
        assert wire.fmt is not None
        packer = _FIXED[wire.name] = _struct.Struct(">" + wire.fmt)
    return packer


class _Reader:
    __slots__ = ("base", "buf", "message", "path", "pos", "version")

    def __init__(self, buf: memoryview, pos: int, message: str, version: int, base: int = 0) -> None:
        self.buf = buf
        self.pos = pos
        self.message = message
        self.version = version
        self.base = base  # where ``buf`` starts in the whole message, for error offsets
        self.path: list[str] = []

    def fail(self, reason: str) -> DecodeError:
        field = ".".join(self.path)
        offset = self.base + self.pos
        return DecodeError(reason, message=self.message, version=self.version, field=field, offset=offset)

    def take(self, n: int) -> memoryview:
        if n < 0 or n > len(self.buf) - self.pos:
            raise self.fail(f"needs {n} bytes, {len(self.buf) - self.pos} left")
        view = self.buf[self.pos : self.pos + n]
        self.pos += n
        return view

    def fixed(self, wire: WireType) -> Any:
        packer = _fixed(wire)
        (value,) = packer.unpack(self.take(packer.size))
        return value

    def uvarint(self) -> int:
        try:
            value, self.pos = read_uvarint(self.buf, self.pos)
        except ValueError as exc:
            raise self.fail(str(exc)) from None
        return value

    def length(self, compact: bool, wide: bool) -> int:
        """A length or count prefix; -1 means null."""
        if compact:
            return self.uvarint() - 1
        (value,) = _struct.unpack(">i" if wide else ">h", self.take(4 if wide else 2))
        return int(value)


def decode(cls: type[Struct], data: bytes | bytearray | memoryview, version: int, pos: int = 0) -> Any:
    """Decode a whole message of ``cls`` at ``version``; returns ``(message, end_position)``."""
    reader = _Reader(memoryview(data), pos, cls.__kafka_name__ or cls.__name__, version)
    value = _struct_body(reader, cls, version, cls.is_flexible(version))
    return value, reader.pos


def _struct_body(r: _Reader, cls: type[Struct], version: int, flexible: bool) -> Any:
    obj = object.__new__(cls)
    tagged: dict[int, FieldSpec] = {}
    for spec in cls.fields():
        object.__setattr__(obj, spec.name, spec.make_default())
        if not spec.present_in(version):
            continue
        if spec.tag is not None:
            if flexible:
                tagged[spec.tag] = spec
            continue
        r.path.append(spec.name)
        object.__setattr__(obj, spec.name, _field(r, spec, version, flexible))
        r.path.pop()
    if flexible:
        _tagged_section(r, obj, tagged, version)
    return obj


def _tagged_section(r: _Reader, obj: Any, tagged: dict[int, FieldSpec], version: int) -> None:
    count = r.uvarint()
    if count > len(r.buf) - r.pos:
        raise r.fail(f"{count} tagged fields cannot fit in {len(r.buf) - r.pos} bytes")
    last = -1
    for _ in range(count):
        tag = r.uvarint()
        if tag <= last:
            raise r.fail(f"tag {tag} out of order after tag {last}")
        last = tag
        size = r.uvarint()
        body = r.take(size)
        spec = tagged.get(tag)
        if spec is None:
            continue  # an unknown tag: skipped, as Kafka does
        sub = _Reader(body, 0, r.message, version, base=r.base + r.pos - size)
        sub.path = [*r.path, spec.name]
        value = _field(sub, spec, version, True)
        if sub.pos != size:
            raise sub.fail(f"tagged field has {size - sub.pos} bytes left over")
        object.__setattr__(obj, spec.name, value)


def _field(r: _Reader, spec: FieldSpec, version: int, flexible: bool) -> Any:
    nullable = spec.nullable_in(version)
    compact = flexible and spec.compact
    if spec.is_array:
        n = r.length(compact, wide=True)
        if n < 0:
            if n == -1 and nullable:
                return None
            raise r.fail(f"array length {n} is invalid")
        if n > len(r.buf) - r.pos:
            raise r.fail(f"array of {n} elements cannot fit in {len(r.buf) - r.pos} bytes")
        items = []
        for i in range(n):
            r.path.append(str(i))
            items.append(_single(r, spec, version, flexible, compact, nullable=False))
            r.path.pop()
        return items
    return _single(r, spec, version, flexible, compact, nullable)


def _single(r: _Reader, spec: FieldSpec, version: int, flexible: bool, compact: bool, nullable: bool) -> Any:
    wire = spec.wire
    if wire is None:
        assert spec.struct is not None
        if nullable and not spec.is_array:
            marker = r.fixed(_INT8)
            if marker < 0:
                return None
        return _struct_body(r, spec.struct, version, flexible)
    if wire.fmt is not None:
        value = r.fixed(wire)
        return bool(value) if wire is BOOL else value
    n = r.length(compact, wide=wire is not STRING)
    if n < 0:
        if n == -1 and nullable:
            return None
        raise r.fail(f"{wire.name} length {n} is invalid")
    if wire is STRING and n > MAX_STRING:
        raise r.fail(f"string length {n} is over the limit of {MAX_STRING} bytes")
    start = r.pos
    data = r.take(n)
    if wire is STRING:
        try:
            return str(data, "utf-8")
        except UnicodeDecodeError as exc:
            r.pos = start + exc.start
            raise r.fail("string is not valid UTF-8") from None
    if wire is RECORDS:
        return data
    return bytes(data)


_INT8 = WireType("int8", "b", 1, 0)


# --- encoding -------------------------------------------------------------------------------------
def encode(obj: Struct, version: int) -> bytes:
    out = bytearray()
    cls = type(obj)
    _encode_struct(out, obj, version, cls.is_flexible(version))
    return bytes(out)


def _encode_struct(out: bytearray, obj: Any, version: int, flexible: bool) -> None:
    tagged: list[tuple[int, bytes]] = []
    for spec in type(obj).fields():
        if not spec.present_in(version):
            continue
        value = getattr(obj, spec.name)
        if spec.tag is not None:
            if flexible and value != spec.make_default():
                field_out = bytearray()
                _encode_field(field_out, spec, value, version, True)
                tagged.append((spec.tag, bytes(field_out)))
            continue
        _encode_field(out, spec, value, version, flexible)
    if flexible:
        tagged.sort()
        out += encode_uvarint(len(tagged))
        for tag, body in tagged:
            out += encode_uvarint(tag)
            out += encode_uvarint(len(body))
            out += body


def _length(out: bytearray, n: int, compact: bool, wide: bool) -> None:
    if compact:
        out += encode_uvarint(n + 1)
    else:
        out += _struct.pack(">i" if wide else ">h", n)


def _encode_field(out: bytearray, spec: FieldSpec, value: Any, version: int, flexible: bool) -> None:
    compact = flexible and spec.compact
    nullable = spec.nullable_in(version)
    if value is None and not nullable:
        raise EncodeError(f"{spec.name} cannot be null in version {version}")
    if spec.is_array:
        if value is None:
            _length(out, -1, compact, wide=True)
            return
        _length(out, len(value), compact, wide=True)
        for item in value:
            _encode_single(out, spec, item, version, flexible, compact, nullable=False)
        return
    _encode_single(out, spec, value, version, flexible, compact, nullable)


def _encode_single(
    out: bytearray, spec: FieldSpec, value: Any, version: int, flexible: bool, compact: bool, nullable: bool
) -> None:
    wire = spec.wire
    if wire is None:
        if nullable and not spec.is_array:
            if value is None:
                out += b"\xff"
                return
            out += b"\x01"
        _encode_struct(out, value, version, flexible)
        return
    if wire.fmt is not None:
        if wire is UUID and len(value) != 16:
            raise EncodeError(f"{spec.name}: a UUID has 16 bytes, not {len(value)}")
        try:
            out += _fixed(wire).pack(value)
        except _struct.error as exc:
            raise EncodeError(f"{spec.name}: {value!r} is not a valid {wire.name}: {exc}") from None
        return
    if value is None:
        _length(out, -1, compact, wide=wire is not STRING)
        return
    data: bytes | bytearray | memoryview = value.encode("utf-8") if wire is STRING else value
    if spec.free_text:
        data = clip_text(bytes(data))
    if wire is STRING and len(data) > MAX_STRING:
        raise EncodeError(f"{spec.name}: a string of {len(data)} bytes is too long")
    _length(out, len(data), compact, wide=wire is not STRING)
    out += data

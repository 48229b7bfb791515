"""The fast codec: each (struct, version) is compiled once into plain Python functions.

The first encode or decode of a message at a version writes the source of a decoder and an encoder for
it and its nested structs (runs of fixed-size fields become one ``struct.unpack_from``; lengths are
checked before anything is sliced or looped over) and ``exec``s it. Compiling lazily, not when the
module loads, keeps start-up fast: a broker uses a handful of the ~1,000 (message, version) pairs.

The compiled code does not track field names. When it meets bad bytes it raises anything at all, and
``decode`` then re-runs the reference interpreter over the same bytes, which raises the one precise
``DecodeError`` (API, version, field, offset). Encoding errors are made precise the same way. So the
fast path pays nothing for good error messages, and both paths must agree: a parity test holds them to
it.
"""

from __future__ import annotations

import struct as _struct
from collections.abc import Callable
from typing import Any, TypeVar

from protocol import interpreter
from protocol.exceptions import DecodeError, EncodeError
from protocol.schema import BOOL, RECORDS, STRING, UUID, FieldSpec, Struct
from protocol.varint import encode_uvarint, read_uvarint

T = TypeVar("T", bound=Struct)
Decoder = Callable[[memoryview, int, int], tuple[Any, int]]
Encoder = Callable[[Any, bytearray], None]

# Compiled functions by (class, version). A key is only ever added after its version was checked, so
# a hit needs no further validation: the hot path is one dict lookup.
_decoders: dict[tuple[type[Struct], int], Decoder] = {}
_encoders: dict[tuple[type[Struct], int], Encoder] = {}


class _Bad(Exception):
    """Raised by compiled code; never escapes this module."""


_ARRAY_NAMES = {
    "b": "int8",
    "h": "int16",
    "H": "uint16",
    "i": "int32",
    "I": "uint32",
    "q": "int64",
    "d": "f64",
    "?": "bool",
}
_ARRAY_CACHES: dict[str, dict[int, _struct.Struct]] = {}
_MAX_CACHED_ARRAY = 256


def _array_struct(cache: dict[int, _struct.Struct], fmt: str, n: int) -> _struct.Struct:
    """A ``Struct`` for ``n`` items of ``fmt``; kept for small ``n`` (arrays are mostly short)."""
    packer = _struct.Struct(f">{n}{fmt}")
    if n <= _MAX_CACHED_ARRAY:
        cache[n] = packer
    return packer


def decode(cls: type[T], data: bytes | bytearray | memoryview, version: int, pos: int = 0) -> tuple[T, int]:
    """Decode a message of ``cls`` at ``version`` from ``data[pos:]``; returns it and where it ended."""
    decoder = _decoders.get((cls, version)) or _compile_decoder(cls, version)
    buf = data if type(data) is memoryview else memoryview(data)
    try:
        return decoder(buf, pos, len(buf))
    except Exception:
        pass
    # Bad bytes: let the reference interpreter say exactly where and why.
    interpreter.decode(cls, buf, version, pos)
    raise DecodeError("compiled decoder rejected bytes the reference decoder accepts", message=cls.__name__)


def encode(obj: Struct, version: int) -> bytes:
    out = bytearray()
    encode_into(out, obj, version)
    return bytes(out)


def encode_into(out: bytearray, obj: Struct, version: int) -> None:
    cls = type(obj)
    encoder = _encoders.get((cls, version)) or _compile_encoder(cls, version)
    mark = len(out)
    try:
        encoder(obj, out)
        return
    except Exception:
        del out[mark:]
    interpreter.encode(obj, version)  # raises the precise EncodeError
    raise EncodeError(f"{cls.__name__} v{version}: compiled encoder failed where the reference did not")


# --- code generation --------------------------------------------------------------------------------
class _Gen:
    """Collects the functions and constants of one compilation unit."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.env: dict[str, Any] = {
            "_Bad": _Bad,
            "_ruv": read_uvarint,
            "_euv": encode_uvarint,
            "_new": object.__new__,
            "_I16": _struct.Struct(">h"),
            "_I32": _struct.Struct(">i"),
            "_I8": _struct.Struct(">b"),
            "_array_struct": _array_struct,
        }
        self.consts: dict[int, str] = {}
        self.packers: dict[str, str] = {}
        self.funcs: dict[tuple[str, type[Struct]], str] = {}

    def const(self, value: object) -> str:
        name = self.consts.get(id(value))
        if name is None:
            name = self.consts[id(value)] = f"_k{len(self.consts)}"
            self.env[name] = value
        return name

    def packer(self, fmt: str) -> str:
        name = self.packers.get(fmt)
        if name is None:
            name = self.packers[fmt] = f"_s{len(self.packers)}"
            self.env[name] = _struct.Struct(">" + fmt)
        return name

    def array_structs(self, fmt: str) -> str:
        """The name of the cache of ``Struct``s for arrays of ``fmt``, one per length."""
        name = f"_arrays_{_ARRAY_NAMES[fmt]}"
        self.env[name] = _ARRAY_CACHES.setdefault(fmt, {})
        return name

    def func(self, kind: str, cls: type[Struct]) -> tuple[str, bool]:
        """The name of the function of ``kind`` for ``cls``, and whether it still needs emitting."""
        name = self.funcs.get((kind, cls))
        if name is not None:
            return name, False
        name = self.funcs[(kind, cls)] = f"_{kind}{len(self.funcs)}_{cls.__name__}"
        return name, True


def _fixed_runs(specs: list[FieldSpec]) -> list[list[FieldSpec]]:
    """Group consecutive fixed-size scalar fields so each run is one struct call."""
    runs: list[list[FieldSpec]] = []
    for spec in specs:
        fixed = _is_fixed_run([spec])
        if fixed and runs and _is_fixed_run(runs[-1]):
            runs[-1].append(spec)
        else:
            runs.append([spec])
    return runs


def _is_fixed_run(run: list[FieldSpec]) -> bool:
    spec = run[0]
    return not spec.is_array and spec.wire is not None and spec.wire.fmt is not None and spec.wire is not UUID


def _layout(cls: type[Struct], version: int, flexible: bool) -> tuple[list[FieldSpec], list[FieldSpec]]:
    regular, tagged = [], []
    for spec in cls.fields():
        if not spec.present_in(version):
            continue
        if spec.tag is None:
            regular.append(spec)
        elif flexible:
            tagged.append(spec)
    tagged.sort(key=lambda s: s.tag or 0)
    return regular, tagged


def _compile_decoder(cls: type[Struct], version: int) -> Decoder:
    cls.check_version(version)
    flexible = cls.is_flexible(version)
    gen = _Gen()
    name = _emit_decoder(gen, cls, version, flexible)
    exec(compile("\n".join(gen.lines), f"<decode {cls.__name__} v{version}>", "exec"), gen.env)
    decoder: Decoder = gen.env[name]
    _decoders[(cls, version)] = decoder
    return decoder


def _compile_encoder(cls: type[Struct], version: int) -> Encoder:
    cls.check_version(version)
    flexible = cls.is_flexible(version)
    gen = _Gen()
    name = _emit_encoder(gen, cls, version, flexible)
    exec(compile("\n".join(gen.lines), f"<encode {cls.__name__} v{version}>", "exec"), gen.env)
    encoder: Encoder = gen.env[name]
    _encoders[(cls, version)] = encoder
    return encoder


# --- decoders -------------------------------------------------------------------------------------
def _emit_decoder(gen: _Gen, cls: type[Struct], version: int, flexible: bool) -> str:
    fname, needed = gen.func("d", cls)
    if not needed:
        return fname
    regular, tagged = _layout(cls, version, flexible)
    body: list[str] = [f"def {fname}(buf, pos, end):", f"    o = _new({gen.const(cls)})"]
    present = {s.name for s in regular} | {s.name for s in tagged}
    for spec in cls.fields():
        if spec.name not in present or spec.tag is not None:
            body.append(f"    o.{spec.name} = {_default_expr(gen, spec)}")
    for run in _fixed_runs(regular):
        if _is_fixed_run(run):
            fmt = "".join(s.wire.fmt for s in run if s.wire and s.wire.fmt)
            packer = gen.packer(fmt)
            targets = ", ".join(f"o.{s.name}" for s in run)
            body.append(f"    {targets}, = {packer}.unpack_from(buf, pos)")
            body.append(f"    pos += {gen.env[packer].size}")
        else:
            body.extend(_decode_field(gen, run[0], version, flexible, "    ", f"o.{run[0].name}"))
    if flexible:
        entries = []
        for spec in tagged:
            tname = f"{fname}_t_{spec.name}"
            lines = _decode_field(gen, spec, version, True, "    ", "v")  # emits nested decoders first
            gen.lines += [f"def {tname}(buf, pos, end):", *lines, "    return v, pos"]
            entries.append(f"{spec.tag}: ({spec.name!r}, {tname})")
        gen.lines.append(f"{fname}_tags = {{{', '.join(entries)}}}")
        body.append("    if buf[pos]:")  # most structs carry no tagged fields: one byte, 0
        body.append(f"        pos = _tagged(buf, pos, end, o, {fname}_tags)")
        body.append("    else:")
        body.append("        pos += 1")
        gen.env["_tagged"] = _decode_tagged
    body.append("    return o, pos")
    gen.lines.extend(body)
    return fname


def _default_expr(gen: _Gen, spec: FieldSpec) -> str:
    if spec.default_factory is list:
        return "[]"
    if spec.default_factory is not None:
        return f"{gen.const(spec.default_factory)}()"
    value = spec.default
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return repr(value)
    return gen.const(value)


def _decode_tagged(buf: memoryview, pos: int, end: int, obj: Any, table: dict[int, Any]) -> int:
    count, pos = read_uvarint(buf, pos)
    if count > end - pos:
        raise _Bad
    last = -1
    for _ in range(count):
        tag, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        if tag <= last or size > end - pos:
            raise _Bad
        last = tag
        entry = table.get(tag)
        if entry is not None:
            value, stop = entry[1](buf, pos, pos + size)
            if stop != pos + size:
                raise _Bad
            object.__setattr__(obj, entry[0], value)
        pos += size
    return pos


def _read_len(compact: bool, wide: bool, ind: str) -> list[str]:
    if compact:
        return [
            f"{ind}n = buf[pos]",
            f"{ind}if n < 128:",
            f"{ind}    pos += 1",
            f"{ind}else:",
            f"{ind}    n, pos = _ruv(buf, pos)",
            f"{ind}n -= 1",
        ]
    packer = "_I32" if wide else "_I16"
    return [f"{ind}n, = {packer}.unpack_from(buf, pos)", f"{ind}pos += {4 if wide else 2}"]


def _decode_field(gen: _Gen, spec: FieldSpec, version: int, flexible: bool, ind: str, target: str) -> list[str]:
    compact = flexible and spec.compact
    nullable = spec.nullable_in(version)
    if spec.is_array and spec.wire is not None and spec.wire.fmt is not None and spec.wire is not UUID:
        size = _struct.calcsize(">" + spec.wire.fmt)
        convert = "[bool(x) for x in " if spec.wire is BOOL else "list("
        close = "]" if spec.wire is BOOL else ")"
        lines = _read_len(compact, True, ind)
        lines += _null_check(ind, target, nullable)
        cache = gen.array_structs(spec.wire.fmt)
        lines += [
            f"{ind}    if n == 0:",
            f"{ind}        {target} = []",
            f"{ind}    elif n * {size} > end - pos:",
            f"{ind}        raise _Bad",
            f"{ind}    else:",
            f"{ind}        s = {cache}.get(n) or _array_struct({cache}, '{spec.wire.fmt}', n)",
            f"{ind}        {target} = {convert}s.unpack_from(buf, pos){close}",
            f"{ind}        pos += n * {size}",
        ]
        return lines
    if spec.is_array:
        lines = _read_len(compact, True, ind)
        lines += _null_check(ind, target, nullable)
        lines += [
            f"{ind}    if n > end - pos:",
            f"{ind}        raise _Bad",
            f"{ind}    a = []",
            f"{ind}    for _ in range(n):",
        ]
        lines += _decode_single(gen, spec, version, flexible, compact, ind + "        ", "x", nullable=False)
        lines += [f"{ind}        a.append(x)", f"{ind}    {target} = a"]
        return lines
    return _decode_single(gen, spec, version, flexible, compact, ind, target, nullable)


def _null_check(ind: str, target: str, nullable: bool) -> list[str]:
    if nullable:
        return [
            f"{ind}if n == -1:",
            f"{ind}    {target} = None",
            f"{ind}elif n < -1:",
            f"{ind}    raise _Bad",
            f"{ind}else:",
        ]
    return [f"{ind}if n < 0:", f"{ind}    raise _Bad", f"{ind}if 1:"]


def _decode_single(
    gen: _Gen,
    spec: FieldSpec,
    version: int,
    flexible: bool,
    compact: bool,
    ind: str,
    target: str,
    nullable: bool,
) -> list[str]:
    wire = spec.wire
    if wire is None:
        assert spec.struct is not None
        sub = _emit_decoder(gen, spec.struct, version, flexible)
        call = [f"{target}, pos = {sub}(buf, pos, end)"]
        if nullable and not spec.is_array:
            return [
                f"{ind}m, = _I8.unpack_from(buf, pos)",
                f"{ind}pos += 1",
                f"{ind}if m < 0:",
                f"{ind}    {target} = None",
                f"{ind}else:",
                f"{ind}    {call[0]}",
            ]
        return [ind + call[0]]
    if wire.fmt is not None:
        packer = gen.packer(wire.fmt)
        size = gen.env[packer].size
        return [f"{ind}{target}, = {packer}.unpack_from(buf, pos)", f"{ind}pos += {size}"]
    lines = _read_len(compact, wire is not STRING, ind)
    lines += _null_check(ind, target, nullable)
    lines += [f"{ind}    if n > end - pos:", f"{ind}        raise _Bad"]
    if wire is STRING:
        lines.append(f"{ind}    {target} = str(buf[pos:pos + n], 'utf-8')")
    elif wire is RECORDS:
        lines.append(f"{ind}    {target} = buf[pos:pos + n]")
    else:
        lines.append(f"{ind}    {target} = bytes(buf[pos:pos + n])")
    lines.append(f"{ind}    pos += n")
    return lines


# --- encoders -------------------------------------------------------------------------------------
def _emit_encoder(gen: _Gen, cls: type[Struct], version: int, flexible: bool) -> str:
    fname, needed = gen.func("e", cls)
    if not needed:
        return fname
    regular, tagged = _layout(cls, version, flexible)
    body = [f"def {fname}(o, out):"]
    for run in _fixed_runs(regular):
        if _is_fixed_run(run):
            fmt = "".join(s.wire.fmt for s in run if s.wire and s.wire.fmt)
            values = ", ".join(f"o.{s.name}" for s in run)
            body.append(f"    out += {gen.packer(fmt)}.pack({values})")
        else:
            body.append(f"    v = o.{run[0].name}")
            body.extend(_encode_field(gen, run[0], version, flexible, "    ", "out"))
    if flexible:
        if not tagged:
            body.append("    out.append(0)")
        else:
            body.append("    tags = []")
            for spec in tagged:
                default = _default_expr(gen, spec)
                body.append(f"    v = o.{spec.name}")
                body.append(f"    if v != {default}:")
                body.append("        t = bytearray()")
                body.extend(_encode_field(gen, spec, version, True, "        ", "t"))
                body.append(f"        tags.append(({spec.tag}, t))")
            body += [
                "    out += _euv(len(tags))",
                "    for tag, t in tags:",
                "        out += _euv(tag)",
                "        out += _euv(len(t))",
                "        out += t",
            ]
    if len(body) == 1:
        body.append("    pass")
    gen.lines.extend(body)
    return fname


def _write_len(compact: bool, wide: bool, ind: str, out: str, expr: str) -> list[str]:
    if compact:
        return [
            f"{ind}n = {expr} + 1",
            f"{ind}if n < 128:",
            f"{ind}    {out}.append(n)",
            f"{ind}else:",
            f"{ind}    {out} += _euv(n)",
        ]
    return [f"{ind}{out} += {'_I32' if wide else '_I16'}.pack({expr})"]


def _encode_field(gen: _Gen, spec: FieldSpec, version: int, flexible: bool, ind: str, out: str) -> list[str]:
    """Emit code that writes the value in local ``v`` to ``out``."""
    compact = flexible and spec.compact
    nullable = spec.nullable_in(version)
    wide = spec.is_array or spec.wire is not STRING
    lines: list[str] = []
    if nullable and (spec.is_array or (spec.wire is not None and spec.wire.fmt is None)):
        lines.append(f"{ind}if v is None:")
        lines += _write_len(compact, wide, ind + "    ", out, "-1")
        lines.append(f"{ind}else:")
        ind += "    "
    if spec.is_array and spec.wire is not None and spec.wire.fmt is not None and spec.wire is not UUID:
        lines += _write_len(compact, True, ind, out, "len(v)")
        cache = gen.array_structs(spec.wire.fmt)
        lines.append(f"{ind}if v:")
        lines.append(
            f"{ind}    {out} += ({cache}.get(len(v)) or _array_struct({cache}, '{spec.wire.fmt}', len(v))).pack(*v)"
        )
        return lines
    if spec.is_array:
        lines += _write_len(compact, True, ind, out, "len(v)")
        lines.append(f"{ind}for x in v:")
        lines += _encode_single(gen, spec, version, flexible, compact, ind + "    ", out, "x", nullable=False)
        return lines
    return lines + _encode_single(gen, spec, version, flexible, compact, ind, out, "v", nullable)


def _encode_single(
    gen: _Gen,
    spec: FieldSpec,
    version: int,
    flexible: bool,
    compact: bool,
    ind: str,
    out: str,
    var: str,
    nullable: bool,
) -> list[str]:
    wire = spec.wire
    if wire is None:
        assert spec.struct is not None
        sub = _emit_encoder(gen, spec.struct, version, flexible)
        if nullable and not spec.is_array:
            return [
                f"{ind}if {var} is None:",
                f"{ind}    {out}.append(255)",
                f"{ind}else:",
                f"{ind}    {out}.append(1)",
                f"{ind}    {sub}({var}, {out})",
            ]
        return [f"{ind}{sub}({var}, {out})"]
    if wire.fmt is not None:
        if wire is BOOL:
            return [f"{ind}{out}.append(1 if {var} else 0)"]
        if wire is UUID:  # struct's "16s" would pad or cut a wrong-sized id silently
            return [f"{ind}if len({var}) != 16:", f"{ind}    raise _Bad", f"{ind}{out} += {var}"]
        return [f"{ind}{out} += {gen.packer(wire.fmt)}.pack({var})"]
    if wire is STRING:
        lines = [f"{ind}d = {var}.encode('utf-8')"]
        if compact:  # the int16 form fails by itself past 32767
            lines += [f"{ind}if len(d) > 32767:", f"{ind}    raise _Bad"]
        return lines + _write_len(compact, False, ind, out, "len(d)") + [f"{ind}{out} += d"]
    return [*_write_len(compact, True, ind, out, f"len({var})"), f"{ind}{out} += {var}"]

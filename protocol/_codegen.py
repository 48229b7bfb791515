"""What the compiled decoders and encoders share: the compilation unit, field layout, struct tables.

Generated code refers to everything by short global names that ``Gen`` puts in the unit's ``env``;
nested structs are written inline into their parent (one function per message, plus one per tagged
field), so the hot loops make no Python call per struct.
"""

from __future__ import annotations

import struct as _struct
from typing import Any

from protocol.schema import UUID, FieldSpec, Struct, clip_text
from protocol.varint import encode_uvarint, read_uvarint


class Bad(Exception):
    """Raised by compiled code on bad input; ``protocol.codec`` never lets it escape."""


# Structs for arrays of fixed-size items. Arrays are mostly short, so ``SMALL`` lengths have a list,
# indexed by length, of ready-made structs; longer ones go through a small cache (kept bounded).
SMALL = 128
_MAX_CACHED_ARRAY = 256
_ARRAY_CACHE: dict[str, _struct.Struct] = {}
_TABLES: dict[str, list[_struct.Struct]] = {}


def array_struct(fmt: str) -> _struct.Struct:
    """A ``Struct`` for ``fmt`` (such as ``"300i"``); cached up to a bound, then built each time."""
    packer = _ARRAY_CACHE.get(fmt)
    if packer is None:
        packer = _struct.Struct(">" + fmt)
        if len(_ARRAY_CACHE) < _MAX_CACHED_ARRAY:
            _ARRAY_CACHE[fmt] = packer
    return packer


def array_table(fmt: str) -> list[_struct.Struct]:
    """``table[n]`` is the ``Struct`` for ``n`` items of ``fmt``, for ``n < SMALL``."""
    table = _TABLES.get(fmt)
    if table is None:
        table = _TABLES[fmt] = [_struct.Struct(f">{n}{fmt}") for n in range(SMALL)]
    return table


_TYPE_NAMES = {"b": "i8", "h": "i16", "H": "u16", "i": "i32", "I": "u32", "q": "i64", "d": "f64", "?": "bool"}


class Gen:
    """Collects the source lines and the globals of one compilation unit."""

    def __init__(self, version: int, flexible: bool) -> None:
        self.version = version
        self.flexible = flexible
        self.lines: list[str] = []
        self.env: dict[str, Any] = {
            "_Bad": Bad,
            "_ruv": read_uvarint,
            "_euv": encode_uvarint,
            "_clip": clip_text,
            "_new": object.__new__,
            "_mv": memoryview,
            "_arr": array_struct,
        }
        self.names: dict[object, str] = {}

    def _named(self, key: object, prefix: str, value: Any) -> str:
        name = self.names.get(key)
        if name is None:
            name = self.names[key] = f"{prefix}{len(self.names)}"
            self.env[name] = value
        return name

    def const(self, value: object) -> str:
        return self._named(("const", id(value)), "_k", value)

    def packer(self, fmt: str) -> str:
        return self._named(("packer", fmt), "_s", _struct.Struct(">" + fmt))

    def size(self, packer: str) -> int:
        size: int = self.env[packer].size
        return size

    def table(self, fmt: str) -> str:
        """The name of ``array_table(fmt)`` in generated code."""
        return self._named(("table", fmt), f"_t{_TYPE_NAMES[fmt]}_", array_table(fmt))

    def once(self, kind: str, cls: type[Struct]) -> tuple[str, bool]:
        """A name for ``kind`` of ``cls`` in this unit, and whether it still needs writing."""
        key = (kind, cls)
        if key in self.names:
            return self.names[key], False
        name = self.names[key] = f"_{kind}{len(self.names)}_{cls.__name__}"
        return name, True

    def run(self, source_name: str, entry: str) -> Any:
        exec(compile("\n".join(self.lines), source_name, "exec"), self.env)
        return self.env[entry]


def layout(cls: type[Struct], version: int, flexible: bool) -> tuple[list[FieldSpec], list[FieldSpec]]:
    """The regular fields of ``cls`` at ``version`` in wire order, and its tagged fields by tag."""
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


def is_fixed(spec: FieldSpec, uuid: bool) -> bool:
    """A single fixed-size scalar (a UUID counts only if ``uuid``: ``"16s"`` pads when it packs)."""
    wire = spec.wire
    return not spec.is_array and wire is not None and wire.fmt is not None and (uuid or wire is not UUID)


def runs(specs: list[FieldSpec], uuid: bool) -> list[list[FieldSpec]]:
    """Consecutive fixed-size fields grouped so each group is one struct call; others alone."""
    out: list[list[FieldSpec]] = []
    for spec in specs:
        if is_fixed(spec, uuid) and out and is_fixed(out[-1][0], uuid):
            out[-1].append(spec)
        else:
            out.append([spec])
    return out


def run_fmt(run: list[FieldSpec]) -> str:
    return "".join(s.wire.fmt for s in run if s.wire is not None and s.wire.fmt is not None)


def has_length(spec: FieldSpec) -> bool:
    """Whether the field starts with a length or count (every array, string and bytes)."""
    return spec.is_array or (spec.wire is not None and spec.wire.fmt is None)


_PLAIN = (int, str, bytes, bool, type(None))  # immutable, and equal exactly when ``==`` says so


def plain_template(spec: FieldSpec) -> Struct | None:
    """The default of a struct field when every field of it is a plain immutable scalar, else None.

    Such a default can be rebuilt field by field and compared field by field, both much cheaper than
    calling its factory (a deep copy) or its ``__eq__``.
    """
    if spec.struct is None or spec.is_array or spec.default_factory is None:
        return None
    value = spec.default_factory()
    if type(value) is not spec.struct:
        return None
    if all(type(getattr(value, f.name)) in _PLAIN for f in spec.struct.fields()):
        return value
    return None


def default_expr(gen: Gen, spec: FieldSpec) -> str:
    """An expression giving a fresh default of the field (a new list or struct each time)."""
    if spec.default_factory is list:
        return "[]"
    template = plain_template(spec)
    if template is not None:
        name, needed = gen.once("default", type(template))
        if needed:
            sets = [f"    o.{f.name} = {getattr(template, f.name)!r}" for f in type(template).fields()]
            gen.lines += [f"def {name}():", f"    o = _new({gen.const(type(template))})", *sets, "    return o"]
        return f"{name}()"
    if spec.default_factory is not None:
        return f"{gen.const(spec.default_factory)}()"
    value = spec.default
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return repr(value)
    return gen.const(value)


def differs_from_default(gen: Gen, spec: FieldSpec, var: str) -> str:
    """A condition true when ``var`` is not equal to the field's default (as ``!=`` would say)."""
    template = plain_template(spec)
    if template is not None:
        cls = type(template)
        tests = [f"{var}.{f.name} != {getattr(template, f.name)!r}" for f in cls.fields()]
        return " or ".join([f"{var}.__class__ is not {gen.const(cls)}", *tests])
    if spec.default_factory is list:
        return f"{var} != []"
    if spec.default_factory is not None:  # compared with one default made now, not a new one each time
        return f"{var} != {gen.const(spec.default_factory())}"
    return f"{var} != {default_expr(gen, spec)}"

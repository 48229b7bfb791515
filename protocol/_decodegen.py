"""Writes the source of compiled decoders: ``def name(raw, pos, end) -> (message, end_position)``.

``raw`` is the ``bytes`` of the frame when the caller has them (strings then decode from a bytes slice,
the cheapest way), else a ``memoryview`` (``view=True``): two variants of the same code.

Speed comes from doing less per field, never from checking less:
- a run of fixed-size fields is one ``unpack_from``, and it also takes the byte or int after it when
  that is the next field's length prefix or the struct's tagged-field count (the common one-byte
  varint; a longer one is re-read from the same position);
- nested structs are written inline, one local ``o<depth>`` per level, so an array of structs costs
  no call per element;
- every length is checked against what is left of the buffer before anything is sliced, allocated or
  looped over, and a negative length is rejected unless the field is nullable;
- a string is at most ``MAX_STRING`` (32,767) bytes, as in Kafka: a compact length that says more is
  refused (a non-compact int16 length cannot say more).
"""

from __future__ import annotations

from typing import Any

from protocol._codegen import SMALL, Gen, default_expr, has_length, is_fixed, layout, run_fmt, runs
from protocol.schema import MAX_STRING, RECORDS, STRING, UUID, FieldSpec, Struct
from protocol.varint import read_uvarint


def write_decoder(gen: Gen, cls: type[Struct], view: bool) -> str:
    name, _ = gen.once("d", cls)
    body = _Writer(gen, view).struct(cls, 0, "    ")
    gen.lines += [f"def {name}(raw, pos, end):", *body, "    return o0, pos"]
    gen.env["_tagged"] = decode_tagged
    return name


def decode_tagged(raw: Any, pos: int, end: int, obj: Any, table: dict[int, Any]) -> int:
    """Read a tagged-field section at ``pos``: known tags go through ``table``, unknown are skipped."""
    count, pos = read_uvarint(raw, pos)
    if count > end - pos:
        raise ValueError("too many tagged fields")
    last = -1
    for _ in range(count):
        tag, pos = read_uvarint(raw, pos)
        size, pos = read_uvarint(raw, pos)
        if tag <= last or size > end - pos:
            raise ValueError("bad tagged field")
        last = tag
        entry = table.get(tag)
        if entry is not None:
            value, stop = entry[1](raw, pos, pos + size)
            if stop != pos + size:
                raise ValueError("tagged field size mismatch")
            object.__setattr__(obj, entry[0], value)
        pos += size
    return pos


class _Writer:
    def __init__(self, gen: Gen, view: bool) -> None:
        self.gen = gen
        self.view = view
        self.version = gen.version
        self.flexible = gen.flexible

    def struct(self, cls: type[Struct], depth: int, ind: str) -> list[str]:
        """Lines that decode a ``cls`` at ``pos`` into the local ``o<depth>``."""
        gen, o = self.gen, f"o{depth}"
        regular, tagged = layout(cls, self.version, self.flexible)
        lines = [f"{ind}{o} = _new({gen.const(cls)})"]
        present = {s.name for s in regular}
        for spec in cls.fields():
            if spec.name not in present:  # absent in this version, or tagged (set only if sent)
                lines.append(f"{ind}{o}.{spec.name} = {default_expr(gen, spec)}")
        table = self.tag_table(cls, tagged, depth) if self.flexible else ""
        groups = runs(regular, uuid=True)
        have_len = False  # whether ``n`` already holds the raw length prefix of the next field
        for i, group in enumerate(groups):
            if not is_fixed(group[0], uuid=True):
                lines += self.field(group[0], depth, ind, f"{o}.{group[0].name}", have_len)
                have_len = False
                continue
            targets = [f"{o}.{s.name}" for s in group]
            fmt = run_fmt(group)
            nxt = groups[i + 1][0] if i + 1 < len(groups) else None
            tail = ""
            if nxt is not None and has_length(nxt):
                compact = self.flexible and nxt.compact
                tail = "B" if compact else ("h" if nxt.wire is STRING and not nxt.is_array else "i")
                targets.append("n")
            elif nxt is None and self.flexible:
                tail = "B"
                targets.append("t")
            packer = gen.packer(fmt + tail)
            lines += [f"{ind}{', '.join(targets)}, = {packer}.unpack_from(raw, pos)", f"{ind}pos += {gen.size(packer)}"]
            if tail == "B" and nxt is not None:
                lines += [f"{ind}if n > 127:", f"{ind}    n, pos = _ruv(raw, pos - 1)"]
            have_len = bool(tail) and nxt is not None
            if tail and nxt is None:
                lines += [f"{ind}if t:", f"{ind}    pos = _tagged(raw, pos - 1, end, {o}, {table})"]
                return lines
        if self.flexible:  # most structs carry no tagged fields: one byte, 0
            lines += [
                f"{ind}if raw[pos]:",
                f"{ind}    pos = _tagged(raw, pos, end, {o}, {table})",
                f"{ind}else:",
                f"{ind}    pos += 1",
            ]
        return lines

    def tag_table(self, cls: type[Struct], tagged: list[FieldSpec], depth: int) -> str:
        """The name of ``{tag: (field name, decoder)}`` for ``cls``, written once per unit."""
        name, needed = self.gen.once("tags", cls)
        if needed:
            entries = []
            for spec in tagged:
                fname = f"{name}_{spec.name}"
                lines = self.field(spec, depth + 1, "    ", "v", False)  # writes nested tables first
                self.gen.lines += [f"def {fname}(raw, pos, end):", *lines, "    return v, pos"]
                entries.append(f"{spec.tag}: ({spec.name!r}, {fname})")
            self.gen.lines.append(f"{name} = {{{', '.join(entries)}}}")
        return name

    def length(self, compact: bool, wide: bool, ind: str) -> list[str]:
        """Read a length prefix into ``n`` (-1 for null)."""
        if compact:
            return [
                f"{ind}n = raw[pos] - 1",
                f"{ind}if n < 127:",
                f"{ind}    pos += 1",
                f"{ind}else:",
                f"{ind}    n, pos = _ruv(raw, pos)",
                f"{ind}    n -= 1",
            ]
        packer = self.gen.packer("i" if wide else "h")
        return [f"{ind}n, = {packer}.unpack_from(raw, pos)", f"{ind}pos += {4 if wide else 2}"]

    def field(self, spec: FieldSpec, depth: int, ind: str, target: str, have_len: bool) -> list[str]:
        """Lines that decode one field into ``target``; ``have_len``: its raw prefix is in ``n``."""
        nullable = spec.nullable_in(self.version)
        if not has_length(spec):
            return self.single(spec, depth, ind, target, nullable)
        compact = self.flexible and spec.compact
        if have_len:
            lines = [f"{ind}n -= 1"] if compact else []
        else:
            lines = self.length(compact, spec.is_array or spec.wire is not STRING, ind)
        fixed_items = spec.is_array and _fixed_items(spec)
        size = spec.wire.size if fixed_items and spec.wire is not None else 1
        too_long = f"n * {size} > end - pos" if size > 1 else "n > end - pos"
        if compact and spec.wire is STRING and not spec.is_array:
            too_long += f" or n > {MAX_STRING}"  # a compact length can say more than a string may hold
        if nullable:
            lines += [
                f"{ind}if n < 0:",
                f"{ind}    if n != -1:",
                f"{ind}        raise _Bad",
                f"{ind}    {target} = None",
                f"{ind}elif {too_long}:",
                f"{ind}    raise _Bad",
                f"{ind}else:",
            ]
        else:
            lines += [f"{ind}if n < 0 or {too_long}:", f"{ind}    raise _Bad", f"{ind}if 1:"]
        ind += "    "
        if not spec.is_array:
            return lines + self.blob(spec, ind, target)
        if fixed_items:
            assert spec.wire is not None and spec.wire.fmt is not None
            fmt = spec.wire.fmt
            table = self.gen.table(fmt)
            return [
                *lines,
                f"{ind}if n == 0:",
                f"{ind}    {target} = []",
                f"{ind}else:",
                f"{ind}    {target} = [*({table}[n] if n < {SMALL} else _arr(f'{{n}}{fmt}')).unpack_from(raw, pos)]",
                f"{ind}    pos += n * {size}",
            ]
        items = f"a{depth}"
        lines += [f"{ind}{items} = []", f"{ind}for _ in range(n):"]
        if spec.wire is None:
            lines += self.single(spec, depth, ind + "    ", f"o{depth + 1}", False, inline=True)
            lines.append(f"{ind}    {items}.append(o{depth + 1})")
        else:
            lines += self.single(spec, depth, ind + "    ", "x", False)
            lines.append(f"{ind}    {items}.append(x)")
        return [*lines, f"{ind}{target} = {items}"]

    def blob(self, spec: FieldSpec, ind: str, target: str) -> list[str]:
        """A string, bytes or records value of ``n`` bytes at ``pos`` (``n`` already checked)."""
        if spec.wire is STRING:
            value = "str(raw[pos:pos + n], 'utf-8')" if self.view else "raw[pos:pos + n].decode()"
        elif spec.wire is RECORDS:  # a view of the caller's buffer: no copy
            value = "raw[pos:pos + n]" if self.view else "_mv(raw)[pos:pos + n]"
        else:
            value = "bytes(raw[pos:pos + n])" if self.view else "raw[pos:pos + n]"
        return [f"{ind}{target} = {value}", f"{ind}pos += n"]

    def single(
        self, spec: FieldSpec, depth: int, ind: str, target: str, nullable: bool, inline: bool = False
    ) -> list[str]:
        """One value that is not an array: a fixed scalar, a blob, or a struct (inline)."""
        wire = spec.wire
        if wire is None:
            assert spec.struct is not None
            body = self.struct(spec.struct, depth + 1, ind + ("    " if nullable else ""))
            if not inline:
                body.append(f"{ind}{'    ' if nullable else ''}{target} = o{depth + 1}")
            if not nullable:
                return body
            marker = self.gen.packer("b")
            return [
                f"{ind}m, = {marker}.unpack_from(raw, pos)",
                f"{ind}pos += 1",
                f"{ind}if m < 0:",
                f"{ind}    {target} = None",
                f"{ind}else:",
                *body,
            ]
        if wire.fmt is not None:
            packer = self.gen.packer(wire.fmt)
            return [f"{ind}{target}, = {packer}.unpack_from(raw, pos)", f"{ind}pos += {self.gen.size(packer)}"]
        compact = self.flexible and spec.compact
        lines = self.length(compact, wire is not STRING, ind)
        too_long = f"n > end - pos or n > {MAX_STRING}" if compact and wire is STRING else "n > end - pos"
        lines += [f"{ind}if n < 0 or {too_long}:", f"{ind}    raise _Bad"]
        return lines + self.blob(spec, ind, target)


def _fixed_items(spec: FieldSpec) -> bool:
    """Whether an array's items are fixed-size scalars, read in one ``unpack_from``."""
    return spec.wire is not None and spec.wire.fmt is not None and spec.wire is not UUID

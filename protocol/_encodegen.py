"""Writes the source of compiled encoders: ``def name(o0, out) -> None`` appends the message to ``out``.

- a run of fixed-size fields is one ``pack``; when it ends a flexible struct without tagged fields,
  the empty tagged-field section (one 0 byte) is a pad byte of the same ``pack``;
- an array of fixed-size items is one ``pack`` (a one-item array packs its length prefix with it);
- nested structs are written inline, one local ``o<depth>`` per level, so an array of structs costs
  no call per element.

Values the wire cannot hold (an int out of range, a 17-byte UUID, a 40,000-byte compact string) make
the generated code raise; ``protocol.codec`` then asks the reference interpreter for the precise error.
An error message too long for a string is cut to fit instead (``FieldSpec.free_text``).
"""

from __future__ import annotations

from protocol._codegen import SMALL, Gen, differs_from_default, has_length, is_fixed, layout, run_fmt, runs
from protocol.schema import BOOL, STRING, UUID, FieldSpec, Struct


def write_encoder(gen: Gen, cls: type[Struct]) -> str:
    name, _ = gen.once("e", cls)
    body = _Writer(gen).struct(cls, 0, "    ", "out")
    gen.lines += [f"def {name}(o0, out):", *body]
    return name


_NULL_LENGTH = {2: "b'\\xff\\xff'", 4: "b'\\xff\\xff\\xff\\xff'"}


class _Writer:
    def __init__(self, gen: Gen) -> None:
        self.gen = gen
        self.version = gen.version
        self.flexible = gen.flexible

    def struct(self, cls: type[Struct], depth: int, ind: str, out: str) -> list[str]:
        """Lines that append the struct in the local ``o<depth>`` to ``out``."""
        gen, o = self.gen, f"o{depth}"
        regular, tagged = layout(cls, self.version, self.flexible)
        lines: list[str] = []
        groups = runs(regular, uuid=False)
        for i, group in enumerate(groups):
            if is_fixed(group[0], uuid=False):
                fmt = run_fmt(group)
                if self.flexible and not tagged and i == len(groups) - 1:
                    fmt += "x"  # the empty tagged-field section
                values = ", ".join(f"{o}.{s.name}" for s in group)
                lines.append(f"{ind}{out} += {gen.packer(fmt)}.pack({values})")
                if fmt.endswith("x"):
                    return lines
            else:
                lines.append(f"{ind}v = {o}.{group[0].name}")
                lines += self.field(group[0], depth, ind, out)
        if self.flexible:
            lines += self.tagged(tagged, depth, ind, out)
        return lines or [f"{ind}pass"]

    def tagged(self, tagged: list[FieldSpec], depth: int, ind: str, out: str) -> list[str]:
        if not tagged:
            return [f"{ind}{out}.append(0)"]
        o, tags, t = f"o{depth}", f"tags{depth}", f"t{depth}"  # per depth: a tagged struct may nest
        lines = [f"{ind}{tags} = []"]
        for spec in tagged:
            lines += [f"{ind}v = {o}.{spec.name}", f"{ind}if {differs_from_default(self.gen, spec, 'v')}:"]
            lines += [f"{ind}    {t} = bytearray()", *self.field(spec, depth, ind + "    ", t)]
            lines.append(f"{ind}    {tags}.append(({spec.tag}, {t}))")
        return [
            *lines,
            f"{ind}{out} += _euv(len({tags}))",
            f"{ind}for tag, {t} in {tags}:",
            f"{ind}    {out} += _euv(tag)",
            f"{ind}    {out} += _euv(len({t}))",
            f"{ind}    {out} += {t}",
        ]

    def length(self, compact: bool, wide: bool, ind: str, out: str, expr: str) -> list[str]:
        if compact:
            return [
                f"{ind}n = {expr} + 1",
                f"{ind}if n < 128:",
                f"{ind}    {out}.append(n)",
                f"{ind}else:",
                f"{ind}    {out} += _euv(n)",
            ]
        return [f"{ind}{out} += {self.gen.packer('i' if wide else 'h')}.pack({expr})"]

    def field(self, spec: FieldSpec, depth: int, ind: str, out: str) -> list[str]:
        """Lines that append the value in local ``v`` to ``out``."""
        compact = self.flexible and spec.compact
        lines: list[str] = []
        if spec.nullable_in(self.version) and has_length(spec):
            wide = spec.is_array or spec.wire is not STRING
            null = f"{out}.append(0)" if compact else f"{out} += {_NULL_LENGTH[4 if wide else 2]}"
            lines += [f"{ind}if v is None:", f"{ind}    {null}", f"{ind}else:"]
            ind += "    "
        elif spec.nullable_in(self.version) and spec.wire is None:
            lines += [f"{ind}if v is None:", f"{ind}    {out}.append(255)", f"{ind}else:", f"{ind}    {out}.append(1)"]
            ind += "    "
        if not spec.is_array:
            return lines + self.single(spec, depth, ind, out, "v")
        wire = spec.wire
        if wire is not None and wire.fmt is not None and wire is not UUID:
            return lines + self.fixed_array(wire.fmt, compact, ind, out)
        lines += self.length(compact, True, ind, out, "len(v)")
        if wire is None:
            assert spec.struct is not None
            lines.append(f"{ind}for o{depth + 1} in v:")
            return lines + self.struct(spec.struct, depth + 1, ind + "    ", out)
        lines.append(f"{ind}for x in v:")
        return lines + self.single(spec, depth, ind + "    ", out, "x")

    def fixed_array(self, fmt: str, compact: bool, ind: str, out: str) -> list[str]:
        """The length and every item of the list ``v`` of fixed-size scalars.

        ``pack(*v)`` costs a tuple, so the most common lengths, 1 and 0, get a line of their own.
        """
        table = self.gen.table(fmt)
        many = f"({table}[n] if n < {SMALL} else _arr(f'{{n}}{fmt}')).pack(*v)"
        if compact:
            return [
                f"{ind}n = len(v)",
                f"{ind}if n == 1:",
                f"{ind}    {out} += {self.gen.packer('B' + fmt)}.pack(2, v[0])",
                f"{ind}elif n == 0:",
                f"{ind}    {out}.append(1)",
                f"{ind}else:",
                f"{ind}    {out} += _euv(n + 1)",
                f"{ind}    {out} += {many}",
            ]
        return [
            f"{ind}n = len(v)",
            f"{ind}if n == 1:",
            f"{ind}    {out} += {self.gen.packer('i' + fmt)}.pack(1, v[0])",
            f"{ind}else:",
            f"{ind}    {out} += {self.gen.packer('i')}.pack(n)",
            f"{ind}    if n:",
            f"{ind}        {out} += {many}",
        ]

    def single(self, spec: FieldSpec, depth: int, ind: str, out: str, var: str) -> list[str]:
        """One value (not null) in local ``var``: a struct (inline), a fixed scalar or a blob."""
        wire = spec.wire
        if wire is None:
            assert spec.struct is not None
            return [f"{ind}o{depth + 1} = {var}", *self.struct(spec.struct, depth + 1, ind, out)]
        if wire.fmt is not None:
            if wire is BOOL:
                return [f"{ind}{out}.append(1 if {var} else 0)"]
            if wire is UUID:  # struct's "16s" would pad or cut a wrong-sized id silently
                return [f"{ind}if len({var}) != 16:", f"{ind}    raise _Bad", f"{ind}{out} += {var}"]
            return [f"{ind}{out} += {self.gen.packer(wire.fmt)}.pack({var})"]
        compact = self.flexible and spec.compact
        if wire is STRING:
            text = f"_clip({var}.encode())" if spec.free_text else f"{var}.encode()"
            if not compact:  # the int16 length fails by itself past 32767
                return [f"{ind}d = {text}", *self.length(False, False, ind, out, "len(d)"), f"{ind}{out} += d"]
            return [
                f"{ind}d = {text}",
                f"{ind}n = len(d) + 1",
                f"{ind}if n < 128:",
                f"{ind}    {out}.append(n)",
                f"{ind}else:",
                f"{ind}    if n > 32768:",
                f"{ind}        raise _Bad",
                f"{ind}    {out} += _euv(n)",
                f"{ind}{out} += d",
            ]
        return [*self.length(compact, True, ind, out, f"len({var})"), f"{ind}{out} += {var}"]

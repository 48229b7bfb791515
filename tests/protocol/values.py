"""Random messages for any definition and version: every present field gets a value, some of them odd."""

from __future__ import annotations

import random
from typing import Any

from protocol.schema import FieldSpec, Struct

_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
_TEXT = ["", "a", "topic-1", "ünïcødé", "x" * 300, "__consumer_offsets"]


def random_message(cls: type[Struct], version: int, rng: random.Random, depth: int = 0) -> Any:
    values = {}
    for spec in cls.fields():
        if spec.present_in(version):
            values[spec.name] = random_value(spec, version, rng, depth)
    return cls(**values)


def random_value(spec: FieldSpec, version: int, rng: random.Random, depth: int) -> Any:
    if spec.nullable_in(version) and rng.random() < 0.2:
        return None
    if spec.is_array:
        count = rng.choice([0, 1, 2, 3]) if depth < 4 else 0
        return [_single(spec, version, rng, depth) for _ in range(count)]
    return _single(spec, version, rng, depth)


def _single(spec: FieldSpec, version: int, rng: random.Random, depth: int) -> Any:
    wire = spec.wire
    if wire is None:
        assert spec.struct is not None
        return random_message(spec.struct, version, rng, depth + 1)
    if wire.name in _RANGES:
        low, high = _RANGES[wire.name]
        return rng.choice([low, high, 0, -1 if low < 0 else 1, rng.randint(low, high)])
    if wire.name == "float64":
        return rng.choice([0.0, -1.5, 1e300, rng.random()])
    if wire.name == "bool":
        return rng.random() < 0.5
    if wire.name == "uuid":
        return rng.randbytes(16)
    if wire.name == "string":
        return rng.choice(_TEXT)
    return rng.randbytes(rng.choice([0, 1, 7, 200]))

"""Every API, every version, request and response: encode then decode gives the message back.

The compiled codec and the reference interpreter must also agree byte for byte, both ways.
"""

from __future__ import annotations

import random

import pytest

from protocol import codec, interpreter
from protocol.api import APIS, Api
from protocol.messages import load_all
from protocol.schema import Struct
from tests.protocol.values import random_message

load_all()

CASES = [
    (api, version, cls)
    for api in sorted(APIS.values(), key=lambda a: a.key)
    for version in range(api.min_version, api.max_version + 1)
    for cls in (api.request, api.response)
]


@pytest.mark.parametrize(("api", "version", "cls"), CASES, ids=lambda x: getattr(x, "__name__", str(x)))
def test_round_trip(api: Api, version: int, cls: type[Struct]) -> None:
    rng = random.Random(f"{cls.__name__}-{version}")
    for _ in range(12):
        message = random_message(cls, version, rng)
        data = codec.encode(message, version)
        assert interpreter.encode(message, version) == data
        decoded, end = codec.decode(cls, data, version)
        assert end == len(data)
        assert decoded == message
        reference, reference_end = interpreter.decode(cls, data, version)
        assert reference == decoded and reference_end == end
        # The other decoder variant: any buffer but bytes, here a view into a larger bytearray.
        framed = bytearray(b"\xff\xff\xff" + data + b"\xff")
        from_view, view_end = codec.decode(cls, memoryview(framed), version, 3)
        assert from_view == message and view_end == end + 3


def _defaults_encodable(cls: type[Struct], version: int) -> bool:
    """False where a field is null by default yet not nullable in this version (a produce's records)."""
    return not any(
        spec.present_in(version) and spec.make_default() is None and not spec.nullable_in(version)
        for spec in cls.fields()
    )


DEFAULT_CASES = [case for case in CASES if _defaults_encodable(case[2], case[1])]


@pytest.mark.parametrize(("api", "version", "cls"), DEFAULT_CASES, ids=lambda x: getattr(x, "__name__", str(x)))
def test_defaults_round_trip(api: Api, version: int, cls: type[Struct]) -> None:
    message = cls()
    data = codec.encode(message, version)
    assert interpreter.encode(message, version) == data
    assert codec.decode(cls, data, version)[0] == message

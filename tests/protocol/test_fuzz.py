"""Random and mutated bytes fed to every decoder: a message or our DecodeError, nothing else."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import codec
from protocol.api import APIS
from protocol.exceptions import DecodeError
from protocol.headers import decode_request
from protocol.messages import load_all
from protocol.schema import Struct
from tests.protocol.values import random_message

load_all()

TARGETS = [
    (cls, version)
    for api in sorted(APIS.values(), key=lambda a: a.key)
    for version in range(api.min_version, api.max_version + 1)
    for cls in (api.request, api.response)
]


def _decode_or_decode_error(cls: type[Struct], data: bytes, version: int) -> None:
    """Decode from bytes and from a bytearray (the codec's two decoder variants): the same message, or
    the same DecodeError."""
    outcomes: list[object] = []
    for buffer in (data, bytearray(data)):
        try:
            outcomes.append(codec.decode(cls, buffer, version))
        except DecodeError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS), data=st.binary(max_size=200))
def test_random_bytes(target: tuple[type[Struct], int], data: bytes) -> None:
    cls, version = target
    _decode_or_decode_error(cls, data, version)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.sampled_from(TARGETS),
    seed=st.integers(0, 2**32),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.sampled_from("xcid")), max_size=4),
)
def test_mutated_messages(target: tuple[type[Struct], int], seed: int, edits: list[tuple[int, int, str]]) -> None:
    """Valid messages with bytes changed (x), cut (c), inserted (i) or deleted (d)."""
    cls, version = target
    data = bytearray(codec.encode(random_message(cls, version, random.Random(seed)), version))
    for where, value, kind in edits:
        if not data:
            break
        i = where % len(data)
        if kind == "x":
            data[i] = value
        elif kind == "c":
            del data[i:]
        elif kind == "i":
            data.insert(i, value)
        else:
            del data[i]
    _decode_or_decode_error(cls, bytes(data), version)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x00",
        b"\x00\x03\x00\x01",  # Metadata v1 header cut before the correlation id
        b"\x00\x03\x00\x01\x00\x00\x00\x07\x7f\xff",  # client id longer than the frame
        b"\x00\x03\x00\x01\x00\x00\x00\x07\x00\x00\x7f\xff\xff\xff",  # 2**31-1 topics announced
        b"\x00\x03\x00\x09\x00\x00\x00\x07\x00\x00\x00\xff\xff\xff\xff\x0f",  # an absurd compact length
        b"\x00\x03\x00\x09\x00\x00\x00\x07\x00\x00\x00\x01\x01\x00\x02\xff\xff",  # truncated tagged field
    ],
)
def test_bad_request_frames(frame: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_request(frame)

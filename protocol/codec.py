"""The fast codec: each (struct, version) is compiled once into plain Python functions.

The first encode or decode of a message at a version writes the source of a decoder and an encoder for
it, its nested structs written inline (``protocol._decodegen``, ``protocol._encodegen``: runs of
fixed-size fields become one ``struct`` call; lengths are checked before anything is sliced or looped
over), and ``exec``s it. Compiling lazily, not when the module loads, keeps start-up fast: a broker
uses a handful of the ~1,000 (message, version) pairs.

A decoder comes in two variants: one reads a ``bytes`` object (what the broker reads from a socket,
and a ``memoryview`` of a whole ``bytes`` is unwrapped to it), the other any other buffer through a
``memoryview``. ``Records`` fields are always views of the caller's buffer, never copies.

The compiled code does not track field names. When it meets bad bytes it raises anything at all, and
``decode`` then re-runs the reference interpreter over the same bytes, which raises the one precise
``DecodeError`` (API, version, field, offset). Encoding errors are made precise the same way. So the
fast path pays nothing for good error messages, and both paths must agree: a parity test holds them to
it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from protocol import interpreter
from protocol._codegen import Gen
from protocol._decodegen import write_decoder
from protocol._encodegen import write_encoder
from protocol.exceptions import DecodeError, EncodeError
from protocol.schema import Struct

T = TypeVar("T", bound=Struct)
Decoder = Callable[[Any, int, int], tuple[Any, int]]
Encoder = Callable[[Any, bytearray], None]

# Compiled functions by (class, version). A key is only ever added after its version was checked, so
# a hit needs no further validation: the hot path is one dict lookup.
_bytes_decoders: dict[tuple[type[Struct], int], Decoder] = {}
_view_decoders: dict[tuple[type[Struct], int], Decoder] = {}
_encoders: dict[tuple[type[Struct], int], Encoder] = {}


def decode(cls: type[T], data: bytes | bytearray | memoryview, version: int, pos: int = 0) -> tuple[T, int]:
    """Decode a message of ``cls`` at ``version`` from ``data[pos:]``; returns it and where it ended."""
    raw: Any = data
    if type(data) is not bytes:
        raw = data if type(data) is memoryview else memoryview(data)
        whole = raw.obj
        if type(whole) is bytes and len(whole) == raw.nbytes and raw.contiguous:
            raw = whole  # the same bytes at the same positions
    if type(raw) is bytes:
        decoder = _bytes_decoders.get((cls, version)) or _compile_decoder(cls, version, view=False)
    else:
        decoder = _view_decoders.get((cls, version)) or _compile_decoder(cls, version, view=True)
    try:
        return decoder(raw, pos, len(raw))
    except Exception:
        pass
    # Bad bytes: let the reference interpreter say exactly where and why.
    interpreter.decode(cls, data, version, pos)
    raise DecodeError("compiled decoder rejected bytes the reference decoder accepts", message=cls.__name__)


def encode(obj: Struct, version: int) -> bytes:
    cls = type(obj)
    encoder = _encoders.get((cls, version)) or _compile_encoder(cls, version)
    out = bytearray()
    try:
        encoder(obj, out)
    except Exception:
        _encode_failed(obj, version)
    return bytes(out)


def encode_into(out: bytearray, obj: Struct, version: int) -> None:
    cls = type(obj)
    encoder = _encoders.get((cls, version)) or _compile_encoder(cls, version)
    mark = len(out)
    try:
        encoder(obj, out)
    except Exception:
        del out[mark:]
        _encode_failed(obj, version)


def _encode_failed(obj: Struct, version: int) -> NoReturn:
    interpreter.encode(obj, version)  # raises the precise EncodeError
    raise EncodeError(f"{type(obj).__name__} v{version}: compiled encoder failed where the reference did not")


def _compile_decoder(cls: type[Struct], version: int, view: bool) -> Decoder:
    cls.check_version(version)
    gen = Gen(version, cls.is_flexible(version))
    decoder: Decoder = gen.run(f"<decode {cls.__name__} v{version}>", write_decoder(gen, cls, view))
    (_view_decoders if view else _bytes_decoders)[(cls, version)] = decoder
    return decoder


def _compile_encoder(cls: type[Struct], version: int) -> Encoder:
    cls.check_version(version)
    gen = Gen(version, cls.is_flexible(version))
    encoder: Encoder = gen.run(f"<encode {cls.__name__} v{version}>", write_encoder(gen, cls))
    _encoders[(cls, version)] = encoder
    return encoder

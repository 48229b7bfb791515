"""Request and response headers, described in the same notation as the messages.

Request header v0: api_key, api_version, correlation_id; v1 adds client_id (a nullable string that
stays non-compact even in v2); v2 adds a tagged-field section. Response header v0: correlation_id; v1
adds a tagged-field section. Which version an API uses is ``Api.request_header_version`` and
``Api.response_header_version``.
"""

from __future__ import annotations

import struct
from typing import Annotated

from protocol import codec
from protocol.api import Api, lookup
from protocol.exceptions import DecodeError
from protocol.schema import Int16, Int32, String, Struct, V, VersionRange
from protocol.schema import struct as message


@message
class RequestHeader(Struct):
    request_api_key: Int16 = 0
    request_api_version: Int16 = 0
    correlation_id: Int32 = 0
    client_id: Annotated[String | None, V("1+", compact=False)] = None


@message
class ResponseHeader(Struct):
    correlation_id: Int32 = 0


for _cls, _name, _versions, _flexible in (
    (RequestHeader, "RequestHeader", "0-2", "2+"),
    (ResponseHeader, "ResponseHeader", "0-1", "1+"),
):
    _cls.__kafka_versions__ = VersionRange.parse(_versions)
    _cls.__kafka_flexible__ = VersionRange.parse(_flexible)
    _cls.__kafka_name__ = _name

_KEY_AND_VERSION = struct.Struct(">hh")


def peek_api(frame: bytes | bytearray | memoryview) -> tuple[int, int]:
    """API key and version of a request frame, read before anything else is decoded."""
    if len(frame) < 4:
        raise DecodeError(f"a request needs at least 4 bytes, got {len(frame)}", message="RequestHeader")
    key, version = _KEY_AND_VERSION.unpack_from(frame, 0)
    return int(key), int(version)


def decode_request_header(frame: memoryview, api: Api, version: int) -> tuple[RequestHeader, int]:
    """Decode the header of a request to ``api`` at ``version``; returns it and where the body starts."""
    return codec.decode(RequestHeader, frame, api.request_header_version(version))


def decode_request(frame: bytes | bytearray | memoryview) -> tuple[RequestHeader, Struct]:
    """Header and body of a whole request frame (without its size prefix)."""
    view = frame if isinstance(frame, memoryview) else memoryview(frame)
    key, version = peek_api(view)
    api = lookup(key)
    api.request.check_version(version)
    header, pos = decode_request_header(view, api, version)
    return header, _decode_body(api.request, view, version, pos)


def encode_request(header: RequestHeader, body: Struct) -> bytes:
    """A whole request frame, size prefix included."""
    api = lookup(header.request_api_key)
    version = header.request_api_version
    return bytes(_frame(header, api.request_header_version(version), body, version))


def encode_response(api: Api, version: int, correlation_id: int, body: Struct) -> bytearray:
    """A whole response frame, size prefix included."""
    return _frame(ResponseHeader(correlation_id=correlation_id), api.response_header_version(version), body, version)


def decode_response(api: Api, version: int, frame: bytes | bytearray | memoryview) -> tuple[ResponseHeader, Struct]:
    """Header and body of a whole response frame (without its size prefix)."""
    view = frame if isinstance(frame, memoryview) else memoryview(frame)
    header, pos = codec.decode(ResponseHeader, view, api.response_header_version(version))
    return header, _decode_body(api.response, view, version, pos)


def _frame(header: Struct, header_version: int, body: Struct, version: int) -> bytearray:
    """A frame: its size (int32), then the header and the body at their versions."""
    out = bytearray(4)
    codec.encode_into(out, header, header_version)
    codec.encode_into(out, body, version)
    struct.pack_into(">i", out, 0, len(out) - 4)
    return out


def _decode_body(cls: type[Struct], view: memoryview, version: int, pos: int) -> Struct:
    """The body from ``pos`` to the end of the frame: bytes left over after it are a decode error."""
    body, end = codec.decode(cls, view, version, pos)
    if end != len(view):
        raise DecodeError(f"{len(view) - end} bytes left over", message=cls.__kafka_name__, version=version, offset=end)
    return body

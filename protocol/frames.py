"""Kafka's framing: each request and response is a 4-byte big-endian size followed by that many bytes.

``FrameReader`` is a sans-I/O splitter: feed it whatever the socket gave, take out whole frames. A size
below zero or above the limit (``socket.request.max.bytes``) is the peer's fault and raises
``FrameTooLarge`` / ``DecodeError``; the caller closes the connection.
"""

from __future__ import annotations

import struct

from protocol.exceptions import DecodeError

_SIZE = struct.Struct(">i")


class FrameTooLarge(DecodeError):
    """A frame announced more bytes than the receiver accepts."""


class FrameReader:
    """Splits a byte stream into frames. Not thread-safe: one reader per connection."""

    __slots__ = ("_buf", "_max_size")

    def __init__(self, max_size: int = 104857600) -> None:
        self._buf = bytearray()
        self._max_size = max_size

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    def next_frame(self) -> bytes | None:
        """The next whole frame's payload, or None until more bytes arrive."""
        buf = self._buf
        if len(buf) < 4:
            return None
        (size,) = _SIZE.unpack_from(buf, 0)
        if size < 0:
            raise DecodeError(f"frame size {size} is negative", offset=0)
        if size > self._max_size:
            raise FrameTooLarge(f"frame of {size} bytes is over the limit of {self._max_size}", offset=0)
        if len(buf) < 4 + size:
            return None
        frame = bytes(buf[4 : 4 + size])
        del buf[: 4 + size]
        return frame

    @property
    def buffered(self) -> int:
        return len(self._buf)

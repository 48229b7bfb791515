"""The protocol package's exceptions. Decoding fails in exactly one way: ``DecodeError``."""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of everything the protocol package raises on purpose."""


class DecodeError(ProtocolError):
    """The bytes are not a valid message: the sender's fault.

    Carries the API, version, field path and byte offset where decoding stopped, so a log line says
    exactly what was wrong with what the peer sent.
    """

    def __init__(self, reason: str, *, message: str = "", version: int = -1, field: str = "", offset: int = -1) -> None:
        self.reason = reason
        self.message = message
        self.version = version
        self.field = field
        self.offset = offset
        where = []
        if message:
            where.append(f"{message} v{version}" if version >= 0 else message)
        if field:
            where.append(f"field {field}")
        if offset >= 0:
            where.append(f"byte {offset}")
        super().__init__(f"{reason} ({', '.join(where)})" if where else reason)


class EncodeError(ProtocolError):
    """A message cannot be written: the caller's fault (a value out of range, a missing struct...)."""


class UnsupportedVersion(ProtocolError):
    """A message was asked for in a version its definition does not have."""


class UnknownApi(ProtocolError):
    """A request names an API key this package does not define."""

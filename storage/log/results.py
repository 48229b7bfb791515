"""What the log hands back: append info, fetch data as file regions (for ``sendfile``)."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import NamedTuple


class LogAppendInfo(NamedTuple):
    """The outcome of an append (ProduceResponse fields come from here). A named tuple: one is made
    per append, several times faster than a frozen dataclass.

    ``first_offset``/``last_offset`` are -1 when nothing was appended. ``log_append_time`` is -1 unless
    the topic uses LogAppendTime. ``max_timestamp``/``offset_of_max_timestamp`` are over the appended
    batches (batch granularity: the last offset of the batch with the largest max timestamp).

    ``duplicate`` is True when the request was a producer's retry of batches already in the log:
    nothing was appended, and the offsets (and max timestamp) are those of the original batches.
    """

    first_offset: int
    last_offset: int
    log_append_time: int
    log_start_offset: int
    max_timestamp: int
    offset_of_max_timestamp: int
    num_messages: int
    valid_bytes: int
    duplicate: bool = False


@dataclass(slots=True, frozen=True)
class FileRegion:
    """``length`` bytes at ``position`` of ``file`` (an open, unbuffered segment file)."""

    file: io.FileIO
    path: str
    position: int
    length: int

    def read(self) -> bytes:
        """The region's bytes (for tests and for callers that cannot ``sendfile``)."""
        data = os.pread(self.file.fileno(), self.length, self.position)
        if len(data) != self.length:
            raise OSError(f"{self.path}: region [{self.position}, +{self.length}) was cut short")
        return data


@dataclass(slots=True, frozen=True)
class LogOffsetMetadata:
    """Where an offset lives: its segment's base offset and its batch's position in that segment."""

    message_offset: int
    segment_base_offset: int = -1
    relative_position: int = -1


@dataclass(slots=True, frozen=True)
class FetchDataInfo:
    """A read: whole record batches as file regions; empty when there is nothing to return."""

    fetch_offset_metadata: LogOffsetMetadata
    regions: tuple[FileRegion, ...] = ()

    @property
    def size(self) -> int:
        return sum(r.length for r in self.regions)

    def read_bytes(self) -> bytes:
        return b"".join(r.read() for r in self.regions)

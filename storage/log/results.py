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
    """``length`` bytes at ``position`` of the segment file ``path``. ``file`` is the segment's file as
    it was open at the read; the pool of open segment files (``storage.log.open_files``) may close it
    as idle afterwards (e.g. while a Fetch reads its other partitions), so ``read`` goes through it
    while it is open and by ``path`` once it is closed. Use a region on the owner's thread in the same
    step as the log read, before anything renames the segment (``broker.zerocopy`` opens ``path`` then
    for a descriptor of its own, which stays valid while the bytes are sent)."""

    file: io.FileIO
    path: str
    position: int
    length: int

    def read(self) -> bytes:
        """The region's bytes (for tests and for callers that cannot ``sendfile``)."""
        try:
            data = os.pread(self.file.fileno(), self.length, self.position)
        except ValueError:  # closed as idle since the read
            with open(self.path, "rb", buffering=0) as f:
                data = os.pread(f.fileno(), self.length, self.position)
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

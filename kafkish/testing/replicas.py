"""Replicas compared on disk: the record batches of a partition's copies, byte for byte.

After a cluster is quiet, every replica of a partition must hold the same batches at the same offsets
(Jepsen's last check, and Kafka's promise that followers copy the leader's log exactly). This reads
the segment files (``<log dir>/<topic>-<partition>/*.log``, in base offset order) of each copy and
compares the raw batches below an offset (the high watermark: what is committed).

Only the v2 batch framing is read (base offset: int64, batch length: int32, then that many bytes), so
this works on the files of any broker writing Kafka's format; a torn batch at the end of a file is
not counted (it is not below any high watermark).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

_FRAME = struct.Struct(">qi")
_LAST_OFFSET_DELTA_AT = 23  # in a v2 batch: base offset 8, length 4, epoch 4, magic 1, crc 4, attributes 2


def log_batches(partition_dir: str | os.PathLike[str], upto: int | None = None) -> Iterator[tuple[int, bytes]]:
    """(base offset, raw batch) of every whole batch in the partition's segments whose records all lie
    below ``upto`` (all when None), oldest first."""
    segments = sorted(Path(partition_dir).glob("*.log"), key=lambda p: int(p.stem))
    for segment in segments:
        data = segment.read_bytes()
        pos = 0
        while pos + _FRAME.size <= len(data):
            base, length = _FRAME.unpack_from(data, pos)
            end = pos + _FRAME.size + length
            if length <= 0 or end > len(data):
                break
            (delta,) = struct.unpack_from(">i", data, pos + _LAST_OFFSET_DELTA_AT)
            if upto is not None and base + delta >= upto:
                return
            yield base, data[pos:end]
            pos = end


def replica_differences(partition_dirs: Iterable[str | os.PathLike[str]], upto: int) -> list[str]:
    """What differs between the copies below offset ``upto`` (empty: byte-identical batches at the
    same offsets). A copy that does not reach ``upto`` counts as a difference."""
    copies = [(str(d), list(log_batches(d, upto))) for d in partition_dirs]
    if not copies:
        return []
    first_dir, first = copies[0]
    problems: list[str] = []
    for directory, batches in copies:
        reached = _end(batches)
        if reached < upto and upto > 0:
            problems.append(f"{directory} holds batches below {reached} only, not up to {upto}")
        if directory == first_dir:
            continue
        if [b for b, _ in batches] != [b for b, _ in first]:
            problems.append(f"{directory} has batches at other offsets than {first_dir}")
            continue
        for (offset, mine), (_, theirs) in zip(batches, first, strict=True):
            if mine != theirs:
                problems.append(f"{directory}: the batch at offset {offset} differs from {first_dir}'s")
                break
    return problems


def _end(batches: list[tuple[int, bytes]]) -> int:
    if not batches:
        return 0
    base, raw = batches[-1]
    delta: int = struct.unpack_from(">i", raw, _LAST_OFFSET_DELTA_AT)[0]
    return base + delta + 1

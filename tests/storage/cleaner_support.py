"""Helpers for the cleaner tests: keyed batches, reading a log back record by record (no tests here)."""

from __future__ import annotations

import dataclasses
from typing import Any

from protocol.records import Compression, Record, build_batch, iter_batches, iter_records
from protocol.records.header import BatchHeader
from storage.config import LogConfig
from storage.log.log import Log

TS = 1_000_000


def compacted(**overrides: Any) -> LogConfig:
    """A compacted topic's config with small segments; ``overrides`` by attribute name."""
    props: dict[str, Any] = {
        "cleanup_policy": ("compact",),
        "segment_bytes": 1024,
        "min_cleanable_dirty_ratio": 0.0,
        "file_delete_delay_ms": 0,
    }
    props.update(overrides)
    return dataclasses.replace(LogConfig(), **props)


def keyed(
    pairs: list[tuple[bytes, bytes | None]],
    *,
    ts: int = TS,
    compression: Compression = Compression.NONE,
    producer: tuple[int, int, int] | None = None,
) -> bytes:
    """One batch of (key, value) records; ``producer`` = (id, epoch, base sequence)."""
    records = [Record(i, ts + i, k, v) for i, (k, v) in enumerate(pairs)]
    pid, epoch, seq = producer if producer is not None else (-1, -1, -1)
    return build_batch(
        records, base_offset=0, compression=compression, producer_id=pid, producer_epoch=epoch, base_sequence=seq
    )


def append_all(log: Log, pairs: list[tuple[bytes, bytes | None]], per_batch: int = 1, ts: int = TS) -> None:
    for i in range(0, len(pairs), per_batch):
        log.append_as_leader(keyed(pairs[i : i + per_batch], ts=ts), 0)


def seal(log: Log) -> None:
    """Make everything written cleanable: roll the active segment and move the HW to the end."""
    log.roll()
    log.set_high_watermark(log.log_end_offset)


def batches(log: Log) -> list[tuple[BatchHeader, memoryview]]:
    """Every batch from the log start to the log end, read as a consumer does (one read per segment)."""
    out: list[tuple[BatchHeader, memoryview]] = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 30).read_bytes()
        if not data:
            break
        out += iter_batches(data)
        offset = out[-1][0].next_offset
    return out


def records(log: Log) -> list[tuple[int, bytes | None, bytes | None]]:
    """(offset, key, value) of every record a consumer reading the whole log gets."""
    return [(r.offset, r.key, r.value) for _, view in batches(log) for r in iter_records(view)]


def latest(appended: list[tuple[int, bytes | None, bytes | None]]) -> dict[bytes | None, tuple[int, bytes | None]]:
    """Each key's last (offset, value)."""
    out: dict[bytes | None, tuple[int, bytes | None]] = {}
    for offset, key, value in appended:
        out[key] = (offset, value)
    return out

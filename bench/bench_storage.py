"""Storage benchmarks (a script, not a test): ``python -m bench.bench_storage [dir]``.

1. append throughput of 16 KiB and 1 MiB batches via ``Log.append_as_leader`` vs plain sequential
   ``write()`` of the same bytes to a file on the same disk;
2. offset lookup time as a partition grows (binary search over the index: O(log n));
3. time to open 1,000 partitions after a clean shutdown.
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
import tempfile
import time

from protocol.records.header import write_crc
from storage.config import LogConfig
from storage.fs import REAL_FS
from storage.manager import LogManager
from storage.recovery.loader import LogLoader


def _batch(size: int) -> bytes:
    """A one-record uncompressed v2 batch of exactly ``size`` bytes (value length chosen to fit)."""
    for value_len in range(size - 70, size - 90, -1):
        rec_body = b"\x00\x00\x00\x01" + _zz(value_len) + b"v" * value_len + b"\x00"
        record = _zz(len(rec_body)) + rec_body
        if 61 + len(record) == size:
            buf = bytearray(size)
            struct.pack_into(">qiibIhiqqqhii", buf, 0, 0, size - 12, -1, 2, 0, 0, 0, 1000, 1000, -1, -1, -1, 1)
            buf[61:] = record
            write_crc(buf)
            return bytes(buf)
    raise ValueError(size)


def _zz(v: int) -> bytes:
    z = (v << 1) ^ (v >> 63)
    out = bytearray()
    while True:
        if z >> 7:
            out.append((z & 0x7F) | 0x80)
            z >>= 7
        else:
            out.append(z)
            return bytes(out)


def _raw_write(root: str, batch: bytes, n: int) -> float:
    path = os.path.join(root, "raw.bin")
    os.sync()
    t0 = time.perf_counter()
    with open(path, "wb", buffering=0) as f:
        for _ in range(n):
            f.write(batch)
    elapsed = time.perf_counter() - t0
    os.unlink(path)
    return elapsed


def _log_append(root: str, batch: bytes, n: int) -> float:
    log = LogLoader.load(os.path.join(root, "bench-0"), "bench", 0, LogConfig(), REAL_FS,
                         lambda: 0, clean_shutdown=True)  # fmt: skip
    buf = bytearray(batch)
    os.sync()
    t0 = time.perf_counter()
    for _ in range(n):
        log.append_as_leader(buf, 0, now_ms=0)
    elapsed = time.perf_counter() - t0
    log.close()
    shutil.rmtree(log.directory)
    return elapsed


def bench_append(root: str, size: int, total: int, rounds: int = 3) -> tuple[float, float]:
    """Best-of-``rounds`` MB/s of raw writes and of Log appends, interleaved, same bytes, same disk."""
    batch = _batch(size)
    n = total // size
    raw = min(_raw_write(root, batch, n) for _ in range(rounds))
    ours = min(_log_append(root, batch, n) for _ in range(rounds))
    for _ in range(rounds):  # and once more the other way round, so neither order is favoured
        raw = min(raw, _raw_write(root, batch, n))
        ours = min(ours, _log_append(root, batch, n))
    mb = n * size / 1e6
    return mb / raw, mb / ours


def bench_lookup(root: str) -> list[tuple[int, float, float]]:
    log = LogLoader.load(os.path.join(root, "lookup-0"), "lookup", 0, LogConfig(index_interval_bytes=4096),
                         REAL_FS, lambda: 0, clean_shutdown=True)  # fmt: skip
    buf = bytearray(_batch(4096))
    out = []
    for target in (1_000, 10_000, 100_000, 400_000):
        while log.log_end_offset < target:
            log.append_as_leader(buf, 0, now_ms=0)
        seg = log.active_segment
        probes = [i * 7919 % target for i in range(2000)]
        t0 = time.perf_counter()
        for p in probes:
            seg.offset_index.lookup(p)
        index_us = (time.perf_counter() - t0) / len(probes) * 1e6
        t0 = time.perf_counter()
        for p in probes[:500]:
            log.read(p, 1)
        read_us = (time.perf_counter() - t0) / 500 * 1e6
        out.append((target, index_us, read_us))
    log.close()
    return out


def bench_open(root: str, partitions: int = 1000) -> float:
    d = os.path.join(root, "many")
    m = LogManager([d])
    m.startup()
    batch = _batch(1024)
    for p in range(partitions):
        log = m.get_or_create_log("t", p)
        for _ in range(10):
            log.append_as_leader(bytearray(batch), 0, now_ms=0)
    m.shutdown()
    t0 = time.perf_counter()
    again = LogManager([d])
    again.startup()
    for p in range(partitions):
        reopened = again.get_log("t", p)
        assert reopened is not None and reopened.log_end_offset == 10
    elapsed = time.perf_counter() - t0
    again.shutdown()
    return elapsed


def main() -> None:
    base = sys.argv[1] if len(sys.argv) > 1 else None
    root = tempfile.mkdtemp(prefix="kafkish-bench-", dir=base)
    try:
        print(f"storage benchmarks in {root}")
        for size, total in ((16 * 1024, 256 * 1024 * 1024), (1024 * 1024, 256 * 1024 * 1024)):
            raw, ours = bench_append(root, size, total)
            print(f"append {size // 1024:>5} KiB batches: raw write {raw:8.0f} MB/s, Log.append_as_leader "
                  f"{ours:8.0f} MB/s ({ours / raw:5.1%} of raw)")  # fmt: skip
        for n, index_us, read_us in bench_lookup(root):
            print(f"partition of {n:>7} offsets: index lookup {index_us:6.2f} us, Log.read lookup {read_us:7.1f} us")
        print(f"open 1000 partitions after a clean shutdown: {bench_open(root):.3f} s")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

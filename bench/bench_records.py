"""Record-batch figures: CRC-32C of a 1 MiB batch through memoryviews, building and reading records.

Run from the repository root: ``PYTHONPATH=. python bench/bench_records.py``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable

import crc32c

from protocol.records import Compression, Record, build_batch, iter_batches, iter_records, validate_record_set
from protocol.records.header import compute_crc


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _count(batch: bytes) -> int:
    return sum(1 for _ in iter_records(batch))


def main() -> None:
    value = os.urandom(1000)
    big = build_batch([Record(i, 1_700_000_000_000 + i, None, value, []) for i in range(1040)])
    size = len(big)
    raw = bytes(big[21:])
    gbps = size / 1e9
    t_raw = _best(lambda: crc32c.crc32c(raw), 50)
    t_view = _best(lambda: compute_crc(big), 50)
    record_set = big * 16
    t_validate = _best(lambda: validate_record_set(record_set), 10)
    t_headers = _best(lambda: sum(1 for _ in iter_batches(record_set)), 10)
    print(f"batch of {size / 2**20:.2f} MiB")
    print(f"  crc32c on raw bytes            {gbps / t_raw:8.2f} GB/s")
    print(f"  compute_crc on the batch view  {gbps / t_view:8.2f} GB/s")
    print(f"  validate_record_set, 16 MiB    {16 * gbps / t_validate:8.2f} GB/s")
    print(f"  iter_batches headers, 16 MiB   {t_headers * 1e6:8.1f} us")

    records = [
        Record(i, 1_700_000_000_000 + i, b"key-%d" % i, b"value-%d" % i * 10, [("h", b"v")]) for i in range(10_000)
    ]
    for codec in Compression:
        t_build = _best(functools.partial(build_batch, records, compression=codec), 3)
        batch = build_batch(records, compression=codec)
        t_iter = _best(functools.partial(_count, batch), 3)
        print(
            f"10k records {codec.name:6}: build {t_build * 1e3:7.1f} ms, "
            f"iterate {t_iter * 1e3:7.1f} ms, {len(batch):8d} bytes"
        )


if __name__ == "__main__":
    main()

"""Log-side transaction benchmark (a script, not a test): ``python -m bench.bench_txn_log [dir]``.

The hot path of ordinary topics must not pay for transactions: appends of small plain batches via
``Log.append_as_leader`` and reads of them via ``Log.read`` (read_uncommitted), in batches per
second; then the same reads with read_committed (which also looks up the ``.txnindex``), and
appends of transactional batches with a marker every 10 batches (half of them aborts).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable

from protocol.records import Record, build_batch, build_control_batch
from storage.config import LogConfig
from storage.fs import REAL_FS
from storage.producer.state import AppendOrigin
from storage.recovery.loader import LogLoader

N = 100_000


def _best(fn: Callable[[], float], runs: int = 3) -> float:
    return min(fn() for _ in range(runs))


def main(root: str) -> None:
    plain = build_batch([Record(0, 1000, b"k", b"v" * 200, [])])

    def appends() -> float:
        d = tempfile.mkdtemp(dir=root)
        log = LogLoader.load(d + "/t-0", "t", 0, LogConfig(), REAL_FS, lambda: 1000, clean_shutdown=True)
        t0 = time.perf_counter()
        for _ in range(N):
            log.append_as_leader(bytearray(plain), 0)
        elapsed = time.perf_counter() - t0
        log.close()
        shutil.rmtree(d)
        return elapsed

    d = tempfile.mkdtemp(dir=root)
    log = LogLoader.load(d + "/t-0", "t", 0, LogConfig(), REAL_FS, lambda: 1000, clean_shutdown=True)
    for _ in range(N):
        log.append_as_leader(bytearray(plain), 0)
    log.set_high_watermark(log.log_end_offset)

    def reads(committed: bool = False) -> float:
        t0 = time.perf_counter()
        for offset in range(0, N, 10):
            info = log.read(offset, 10 * len(plain), log.high_watermark)
            if committed:
                log.aborted_transactions(info)
        return time.perf_counter() - t0

    print(f"plain append:          {N / _best(appends):>10,.0f} batches/s")
    print(f"plain read (uncommit): {N / 10 / _best(reads):>10,.0f} reads/s (10 batches each)")
    if hasattr(log, "aborted_transactions"):  # (the script also measures a tree before transactions)
        print(f"plain read (committed):{N / 10 / _best(lambda: reads(committed=True)):>10,.0f} reads/s")

        def txn_appends() -> float:
            d2 = tempfile.mkdtemp(dir=root)
            tlog = LogLoader.load(d2 + "/t-0", "t", 0, LogConfig(), REAL_FS, lambda: 1000, clean_shutdown=True)
            t0 = time.perf_counter()
            for i in range(N):
                batch = build_batch(
                    [Record(0, 1000, b"k", b"v" * 200, [])],
                    producer_id=1, producer_epoch=0, base_sequence=i, is_transactional=True,
                )  # fmt: skip
                tlog.append_as_leader(bytearray(batch), 0)
                if i % 10 == 9:
                    marker = build_control_batch(i % 20 == 9, 1, 0, 0, timestamp=1000)
                    tlog.append_as_leader(bytearray(marker), 0, origin=AppendOrigin.COORDINATOR)
            elapsed = time.perf_counter() - t0
            tlog.close()
            shutil.rmtree(d2)
            return elapsed

        print(f"txn append (+markers): {N / _best(txn_appends, 1):>10,.0f} batches/s (batch build included)")
    log.close()
    shutil.rmtree(d)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.gettempdir())

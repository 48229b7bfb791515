"""Transactions against a kafkish broker process (issue 14's benchmark): records per second of a
transactional producer writing 1,000-record transactions against an idempotent producer in the same
run (the target is at least 0.8x), and the latency of ``commit_transaction`` (the records still in
flight, then EndTxn), p50 and p99.

    python -m bench.bench_transactions [--transactions N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from confluent_kafka import Producer

from bench.broker.servers import Kafkish

RECORDS_PER_TXN = 1000
VALUE = b"x" * 100
TIMEOUT_S = 60.0


def _idempotent(bootstrap: str, topic: str, count: int) -> float:
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    p.produce(topic, value=VALUE)  # warm up: the topic exists, the producer id is known
    assert p.flush(TIMEOUT_S) == 0
    started = time.perf_counter()
    for _ in range(count):
        while True:
            try:
                p.produce(topic, value=VALUE)
                break
            except BufferError:
                p.poll(0.01)
    assert p.flush(TIMEOUT_S) == 0
    return count / (time.perf_counter() - started)


def _transactional(bootstrap: str, topic: str, transactions: int) -> tuple[float, list[float]]:
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "bench-txn", "linger.ms": 5})
    p.init_transactions(TIMEOUT_S)
    p.begin_transaction()  # warm up: the topic exists, the coordinator is found
    p.produce(topic, value=VALUE)
    p.commit_transaction(TIMEOUT_S)
    commits: list[float] = []
    started = time.perf_counter()
    for _ in range(transactions):
        p.begin_transaction()
        for _ in range(RECORDS_PER_TXN):
            p.produce(topic, value=VALUE)
        t0 = time.perf_counter()
        p.commit_transaction(TIMEOUT_S)
        commits.append((time.perf_counter() - t0) * 1000)
    return transactions * RECORDS_PER_TXN / (time.perf_counter() - started), commits


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=50)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    with Kafkish() as server:
        idempotent = _idempotent(server.bootstrap, "bench-idempotent", args.transactions * RECORDS_PER_TXN)
        transactional, commits = _transactional(server.bootstrap, "bench-transactional", args.transactions)
    commits.sort()
    p99 = commits[min(len(commits) - 1, int(len(commits) * 0.99))]
    result = {
        "idempotent_records_s": idempotent,
        "transactional_records_s": transactional,
        "ratio": transactional / idempotent,
        "end_txn_p50_ms": statistics.median(commits),
        "end_txn_p99_ms": p99,
    }
    print(
        f"idempotent {idempotent:,.0f} rec/s; transactional ({RECORDS_PER_TXN}-record transactions) "
        f"{transactional:,.0f} rec/s ({result['ratio']:.2f}x); commit p50 {result['end_txn_p50_ms']:.1f} ms, "
        f"p99 {p99:.1f} ms"
    )
    return result


if __name__ == "__main__":
    main()

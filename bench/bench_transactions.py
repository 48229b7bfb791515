"""Transactions against a kafkish broker process (issue 14's benchmark): records per second of a
transactional producer writing 1,000-record transactions against an idempotent producer in the same
run (the target is at least 0.8x), and the latency of ``commit_transaction`` (the records still in
flight, then EndTxn), p50 and p99.

The machine is shared, so one measurement of each says little: the two modes alternate for
``--rounds`` rounds (which goes first alternates too), each round's ratio is taken, and the medians
are reported; commit latencies are pooled over every round. Both producers are made once, before
the first round (connections, producer id, coordinator and topics settled), as an application has
them.

    python -m bench.bench_transactions [--transactions N] [--rounds R] [--bootstrap HOST:PORT]

``--bootstrap`` runs against a broker that is already running (for instance real Kafka, to compare).

Where the time goes (measured in December 2026 on the shared 2-core machine): a transaction costs the
client three round trips in a row (AddPartitionsToTxn, the Produce that waits for it, EndTxn) plus
librdkafka's hand-offs between its threads, about 3-4 ms per 1,000 records, while the idempotent
producer pipelines batches of thousands of records. The broker's share of a transaction is about
1.1 ms (p50: AddPartitionsToTxn 0.37, Produce 0.45, EndTxn 0.33, from frame read to response
written). Kafka 2.4.1 on the same machine, same run: 0.20x, commit p50 5.4 ms, p99 35 ms.
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


class _Idempotent:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
        self.producer.produce(topic, value=VALUE)  # warm up: the topic exists, the producer id is known
        assert self.producer.flush(TIMEOUT_S) == 0

    def run(self, count: int) -> float:
        """Records per second over ``count`` records (until all are acknowledged)."""
        p = self.producer
        started = time.perf_counter()
        for _ in range(count):
            while True:
                try:
                    p.produce(self.topic, value=VALUE)
                    break
                except BufferError:
                    p.poll(0.01)
        assert p.flush(TIMEOUT_S) == 0
        return count / (time.perf_counter() - started)


class _Transactional:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "bench-txn", "linger.ms": 5})
        self.producer.init_transactions(TIMEOUT_S)
        self.producer.begin_transaction()  # warm up: the topic exists, the coordinator is found
        self.producer.produce(topic, value=VALUE)
        self.producer.commit_transaction(TIMEOUT_S)

    def run(self, transactions: int, commits: list[float]) -> float:
        """Records per second over ``transactions`` committed transactions; each commit's latency
        (ms) is added to ``commits``."""
        p = self.producer
        started = time.perf_counter()
        for _ in range(transactions):
            p.begin_transaction()
            for _ in range(RECORDS_PER_TXN):
                p.produce(self.topic, value=VALUE)
            t0 = time.perf_counter()
            p.commit_transaction(TIMEOUT_S)
            commits.append((time.perf_counter() - t0) * 1000)
        return transactions * RECORDS_PER_TXN / (time.perf_counter() - started)


def measure(bootstrap: str, transactions: int, rounds: int) -> dict[str, float]:
    idempotent = _Idempotent(bootstrap, "bench-idempotent")
    transactional = _Transactional(bootstrap, "bench-transactional")
    commits: list[float] = []
    idem_rates: list[float] = []
    txn_rates: list[float] = []
    ratios: list[float] = []
    for round_ in range(rounds):
        if round_ % 2 == 0:
            idem = idempotent.run(transactions * RECORDS_PER_TXN)
            txn = transactional.run(transactions, commits)
        else:
            txn = transactional.run(transactions, commits)
            idem = idempotent.run(transactions * RECORDS_PER_TXN)
        idem_rates.append(idem)
        txn_rates.append(txn)
        ratios.append(txn / idem)
    commits.sort()
    return {
        "idempotent_records_s": statistics.median(idem_rates),
        "transactional_records_s": statistics.median(txn_rates),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "end_txn_p50_ms": statistics.median(commits),
        "end_txn_p99_ms": commits[min(len(commits) - 1, int(len(commits) * 0.99))],
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=100, help="transactions per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bootstrap", help="an already running broker (default: start kafkish)")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    if args.bootstrap:
        result = measure(args.bootstrap, args.transactions, args.rounds)
    else:
        with Kafkish() as server:
            result = measure(server.bootstrap, args.transactions, args.rounds)
    print(
        f"idempotent {result['idempotent_records_s']:,.0f} rec/s; transactional ({RECORDS_PER_TXN}-record "
        f"transactions) {result['transactional_records_s']:,.0f} rec/s; ratio {result['ratio']:.2f}x (median of "
        f"{args.rounds} alternating rounds, {result['ratio_min']:.2f}-{result['ratio_max']:.2f}); commit p50 "
        f"{result['end_txn_p50_ms']:.1f} ms, p99 {result['end_txn_p99_ms']:.1f} ms"
    )
    return result


if __name__ == "__main__":
    main()

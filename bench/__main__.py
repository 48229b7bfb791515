"""``make bench``: every benchmark of the project, one after the other, figures printed as they come.

First the component benchmarks (the protocol codec, record batches and CRC, the storage engine), the
long run of the wire fuzzer (``bench.fuzz_wire``: its requests per second and anything it found),
transactions (transactional against idempotent produce, commit latency), cluster mode
(``bench.bench_cluster``), then the side-by-side broker suite (``bench.broker``: kafkish against Tansu,
the loopback ceiling). Arguments go to the broker suite: ``python -m bench --runs 3``,
``python -m bench --brokers kafkish``.
"""

from __future__ import annotations

import json
import os
import sys
import time

from bench import bench_cluster, bench_protocol, bench_records, bench_storage, bench_transactions, fuzz_wire
from bench.broker import __main__ as broker_suite
from bench.broker import security as security_suite


def main() -> int:
    started = time.time()
    suite_args, sys.argv[1:] = sys.argv[1:], []  # the component benchmarks read sys.argv themselves
    results: dict[str, object] = {}
    print("== protocol codec ==")
    results["protocol"] = bench_protocol.main()
    print("\n== record batches ==")
    bench_records.main()
    print("\n== storage ==")
    bench_storage.main()
    print("\n== wire fuzzer (every API and version, hostile field values) ==")
    results["fuzz_wire"] = fuzz_wire.bench()
    print("\n== transactions ==")
    results["transactions"] = bench_transactions.main([])
    print("\n== cluster mode: ZooKeeper and 3 brokers ==")
    results["cluster"] = bench_cluster.main()
    print("\n== broker, side by side with Tansu ==")
    broker = broker_suite.main(suite_args)
    results["broker"] = {"medians": broker["medians"], "loopback_mb_s": broker["loopback_mb_s"]}
    print("\n== kafkish over PLAINTEXT, SSL and SASL_SSL (SCRAM) in the same run ==")
    results["security"] = security_suite.main([])
    os.makedirs("bench/results", exist_ok=True)
    path = f"bench/results/bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"started": started, "results": results}, f, indent=1)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

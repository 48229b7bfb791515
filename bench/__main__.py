"""``make bench``: every benchmark of the project, one after the other, figures printed as they come.

The side-by-side broker suite against a peer (issue: speed) will join this runner; for now it runs the
component benchmarks: the protocol codec, record batches and CRC, and the storage engine.
"""

from __future__ import annotations

import json
import os
import sys
import time

from bench import bench_protocol, bench_records, bench_storage


def main() -> int:
    started = time.time()
    results: dict[str, object] = {}
    print("== protocol codec ==")
    results["protocol"] = bench_protocol.main()
    print("\n== record batches ==")
    bench_records.main()
    print("\n== storage ==")
    bench_storage.main()
    os.makedirs("bench/results", exist_ok=True)
    path = f"bench/results/bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"started": started, "results": results}, f, indent=1)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

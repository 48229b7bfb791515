"""The wire fuzzer's long run: many seeds, many requests per API and version, one real broker.

``python -m bench.fuzz_wire [--rounds N] [--seeds S] [--seed FIRST] [--verbose]`` (``make fuzz``, and a
step of ``make bench``); ``tests/broker/test_fuzz_wire.py`` is the short run of ``make test``. It
prints how many requests went out, how many got an answer and how many closed their connection, the
requests per second, and every broken invariant grouped by the log's last line (``tests.wire_fuzz``
says what the invariant is). The exit code is 1 when anything was found.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.harness import BrokerProcess
from tests.wire_fuzz import Finding, Fuzzer

OVERRIDES = {"group.initial.rebalance.delay.ms": "0", "group.min.session.timeout.ms": "0"}
ODDS = [0.15, 0.35, 0.6]  # how often a value is a hostile one, by seed: few, some, most
ROUNDS, SEEDS, FIRST_SEED = 20, 5, 1  # ~19,000 requests: a minute or two


def run(rounds: int, seeds: int, first_seed: int) -> dict[str, Any]:
    """``rounds`` requests per (API, version) for each of ``seeds`` seeds, all on one broker."""
    findings: list[Finding] = []
    requests = answers = closes = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-wire-") as tmp, BrokerProcess(Path(tmp), OVERRIDES) as broker:
        targets = 0
        for seed in range(first_seed, first_seed + seeds):
            fuzzer = Fuzzer(broker.port, lambda: broker.output, seed, odd=ODDS[seed % len(ODDS)])
            fuzzer.log_seen = len(broker.output)
            if seed == first_seed:
                fuzzer.create_topics()
                topic_ids = fuzzer.topic_ids
            fuzzer.topic_ids = topic_ids
            chosen = fuzzer.targets()
            targets = len(chosen)
            stats = fuzzer.run(rounds, chosen)
            requests, answers, closes = requests + stats.requests, answers + stats.answers, closes + stats.closes
            findings += stats.findings
            print(f"seed {seed}: {stats.requests} requests, {stats.answers} answers, {stats.closes} closes, "
                  f"{len(stats.findings)} findings", flush=True)  # fmt: skip
        alive = broker.process is not None and broker.process.poll() is None
    elapsed = time.perf_counter() - started
    return {
        "targets": targets,
        "requests": requests,
        "answers": answers,
        "closes": closes,
        "seconds": round(elapsed, 1),
        "requests_per_s": round(requests / elapsed),
        "broker_alive": alive,
        "findings": findings,
    }


def summary(findings: list[Finding]) -> list[str]:
    """One line per kind of finding: API, what, and the last line of the log it left."""
    kinds: Counter[str] = Counter()
    for f in findings:
        last = [line for line in f.log.splitlines() if line.strip()][-1:] or [""]
        kinds[f"{f.api} v{f.version}: {f.what}: {last[0].strip()[:200]}"] += 1
    return [f"{n:4d} x {kind}" for kind, n in kinds.most_common()]


def bench(
    rounds: int = ROUNDS, seeds: int = SEEDS, first_seed: int = FIRST_SEED, verbose: bool = False
) -> dict[str, Any]:
    """The long run with its figures printed; returns them (findings as summary lines)."""
    result = run(rounds, seeds, first_seed)
    findings: list[Finding] = result.pop("findings")
    print(", ".join(f"{k}={v}" for k, v in result.items()) + f", findings={len(findings)}")
    result["findings"] = summary(findings)
    for line in result["findings"]:
        print(line)
    if verbose:
        for f in findings:
            print(f"\n{f}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="requests per API and version per seed")
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--seed", type=int, default=FIRST_SEED, help="the first seed")
    parser.add_argument("--verbose", action="store_true", help="print every finding with its request and log")
    args = parser.parse_args(argv)
    result = bench(args.rounds, args.seeds, args.seed, args.verbose)
    return 1 if result["findings"] or not result["broker_alive"] else 0


if __name__ == "__main__":
    sys.exit(main())

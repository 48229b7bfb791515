"""``kafkish faults``: drive a broker's fault injection from a shell or any language's test, through its
endpoint (a broker started with ``kafkish.fault.injection.enable=true`` logs
``fault injection endpoint listening on http://127.0.0.1:PORT/faults``; pin the port with
``kafkish.fault.injection.port``).

    kafkish faults --endpoint http://127.0.0.1:9999 inject --api Produce --error NOT_LEADER_OR_FOLLOWER --count 3
    kafkish faults --endpoint http://127.0.0.1:9999 inject --api Fetch --delay-ms 500 --duration-ms 10000
    kafkish faults --endpoint http://127.0.0.1:9999 inject --api Metadata --drop --count 1
    kafkish faults --endpoint http://127.0.0.1:9999 list
    kafkish faults --endpoint http://127.0.0.1:9999 clear

``inject`` and ``list`` print JSON (one rule, or a list of them); ``clear`` prints how many were removed.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from kafkish.cli._common import ToolError
from kafkish.testing.faults import FaultInjectionError, Faults


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("faults", help="inject faults into a broker started with them")
    p.add_argument("--endpoint", required=True, help="the broker's fault-injection URL, http://127.0.0.1:PORT")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    inject = actions.add_parser("inject", help="add a rule")
    inject.add_argument("--api", required=True, help="Kafka's API name (Produce, Fetch, ...) or key")
    what = inject.add_mutually_exclusive_group(required=True)
    what.add_argument("--error", help="a Kafka error name (NOT_LEADER_OR_FOLLOWER) or code")
    what.add_argument("--delay-ms", type=int, help="delay the responses by this many ms")
    what.add_argument("--drop", action="store_true", help="close the connection instead of answering")
    inject.add_argument("--topic", help="only requests naming this topic (its partitions get the error)")
    inject.add_argument("--partition", type=int, help="only this partition of --topic")
    inject.add_argument("--count", type=int, help="for the next N matching requests")
    inject.add_argument("--duration-ms", type=int, help="for this long")
    actions.add_parser("list", help="the rules in force")
    remove = actions.add_parser("remove", help="remove one rule")
    remove.add_argument("id", type=int)
    actions.add_parser("clear", help="remove every rule")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    faults = Faults(args.endpoint)
    try:
        if args.action == "inject":
            rule = faults.inject(
                args.api, error=args.error, delay_ms=args.delay_ms, drop=args.drop, topic=args.topic,
                partition=args.partition, count=args.count, duration_ms=args.duration_ms,
            )  # fmt: skip
            print(json.dumps(rule))
        elif args.action == "list":
            print(json.dumps(faults.list(), indent=2))
        elif args.action == "remove":
            print(json.dumps({"removed": int(faults.remove(args.id))}))
        else:
            print(json.dumps({"removed": faults.clear()}))
    except FaultInjectionError as exc:
        raise ToolError(str(exc)) from None
    return 0

"""``kafkish get-offsets`` (kafka-get-offsets.sh) and ``kafkish delete-records``
(kafka-delete-records.sh).

get-offsets prints ``topic:partition:offset`` lines, sorted, for ``--time`` latest (-1, the default),
earliest (-2), max-timestamp (-3) or a timestamp in milliseconds. delete-records reads Kafka's
``--offset-json-file`` (``{"partitions": [{"topic": t, "partition": p, "offset": o}], "version": 1}``)
and prints ``partition: t-p\tlow_watermark: N`` (or ``error: ...``) per partition.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from kafkish.cli._common import (
    add_bootstrap,
    admin,
    admin_names,
    api_timeout,
    describe_error,
    fail,
    list_topics,
    out,
    result,
)


def add_parsers(commands: Any) -> None:
    g: argparse.ArgumentParser = commands.add_parser("get-offsets", help="offsets of topic partitions")
    add_bootstrap(g)
    g.add_argument("--topic", help="a regular expression (all topics if absent)")
    g.add_argument("--partitions", help="comma-separated partition ids or ranges (e.g. 0,3-5)")
    g.add_argument("--time", default="-1", help="latest (-1), earliest (-2), max-timestamp (-3) or a timestamp")
    g.add_argument("--exclude-internal-topics", action="store_true")
    g.set_defaults(run=get_offsets)

    d: argparse.ArgumentParser = commands.add_parser("delete-records", help="delete records up to an offset")
    add_bootstrap(d)
    d.add_argument("--offset-json-file", required=True)
    d.set_defaults(run=delete_records)


def _spec(time: str) -> Any:
    (OffsetSpec,) = admin_names("OffsetSpec")

    named = {"latest": "-1", "earliest": "-2", "max-timestamp": "-3"}
    value = int(named.get(time, time))
    if value == -1:
        return OffsetSpec.latest()
    if value == -2:
        return OffsetSpec.earliest()
    if value == -3:
        return OffsetSpec.max_timestamp()
    return OffsetSpec.for_timestamp(value)


def _partition_filter(text: str | None) -> set[int] | None:
    if text is None:
        return None
    wanted: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        wanted.update(range(int(low), int(high or low) + 1))
    return wanted


def get_offsets(args: argparse.Namespace) -> int:
    from confluent_kafka import TopicPartition

    client = admin(args)
    pattern = re.compile(args.topic) if args.topic else None
    wanted = _partition_filter(args.partitions)
    try:
        spec = _spec(args.time)
    except ValueError:
        fail(f"Malformed time argument {args.time}")
    request: dict[Any, Any] = {}
    for name, topic in list_topics(client, args).topics.items():
        if pattern is not None and not pattern.fullmatch(name):
            continue
        if args.exclude_internal_topics and name.startswith("__"):
            continue
        for partition in topic.partitions:
            if wanted is None or partition in wanted:
                request[TopicPartition(name, partition)] = spec
    if not request:
        fail("Could not match any topic-partitions with the specified filters")
    found = {
        (tp.topic, tp.partition): result(f, api_timeout(args)).offset for tp, f in client.list_offsets(request).items()
    }
    for (topic, partition), offset in sorted(found.items()):
        if offset >= 0:
            out(f"{topic}:{partition}:{offset}")
    return 0


def delete_records(args: argparse.Namespace) -> int:
    from confluent_kafka import TopicPartition

    try:
        with open(args.offset_json_file, encoding="utf-8") as f:
            spec = json.load(f)
        wanted = [TopicPartition(p["topic"], int(p["partition"]), int(p["offset"])) for p in spec["partitions"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fail(f"cannot read the offset JSON file {args.offset_json_file}: {exc}")
    client = admin(args)
    out("Executing records delete operation")
    futures = client.delete_records(wanted)
    out("Records delete operation completed:")
    for tp, future in futures.items():
        try:
            low = future.result(30).low_watermark
            out(f"partition: {tp.topic}-{tp.partition}\tlow_watermark: {low}")
        except Exception as exc:
            out(f"partition: {tp.topic}-{tp.partition}\terror: {describe_error(exc)}")
    return 0

"""``kafkish consumer-groups --reset-offsets``: kafka-consumer-groups.sh's offset reset.

Scope ``--topic T`` (all partitions), ``--topic T:0,2`` or ``--all-topics`` (the partitions the group
has offsets for); target ``--to-earliest``, ``--to-latest``, ``--to-current``, ``--to-offset N`` or
``--shift-by N``, clamped to the partition's earliest and latest offsets with a WARN, as Kafka does.
Without ``--execute`` it is a dry run (Kafka's warning says so). Prints Kafka's table: GROUP, TOPIC
(30 wide), PARTITION (10), NEW-OFFSET (15). Only a group without active members can be reset.
"""

from __future__ import annotations

import argparse
from typing import Any

from kafkish.cli._common import admin_names, err, fail, out, result

DRY_RUN_WARNING = (
    "WARN: No action will be performed as the --execute option is missing.In a future major release, the "
    "default behavior of this command will be to prompt the user before executing the reset rather than doing "
    "a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to "
    "keep the current default behavior without prompting."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--topic", action="append", default=[], help="T or T:0,1 (with --reset-offsets)")
    p.add_argument("--all-topics", action="store_true")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--to-earliest", action="store_true")
    target.add_argument("--to-latest", action="store_true")
    target.add_argument("--to-current", action="store_true")
    target.add_argument("--to-offset", type=int)
    target.add_argument("--shift-by", type=int)
    p.add_argument("--execute", action="store_true")
    p.add_argument("--dry-run", action="store_true")


def reset(client: Any, args: argparse.Namespace, group: str, state: str) -> None:
    ConsumerGroupTopicPartitions, TopicPartition = _root("ConsumerGroupTopicPartitions", "TopicPartition")
    (OffsetSpec,) = admin_names("OffsetSpec")
    if state not in ("Empty", "Dead"):
        fail(f"Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}.")
    listed = result(client.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group])
    committed = {(tp.topic, tp.partition): tp.offset for tp in listed.topic_partitions}
    partitions = _scope(client, args, committed)
    if not partitions:
        fail("no partition to reset: name one with --topic, or use --all-topics on a group with offsets")

    def offsets(spec: Any) -> dict[tuple[str, int], int]:
        futures = client.list_offsets({TopicPartition(t, p): spec for t, p in partitions})
        return {(tp.topic, tp.partition): result(f).offset for tp, f in futures.items()}

    earliest, latest = offsets(OffsetSpec.earliest()), offsets(OffsetSpec.latest())
    wanted: dict[tuple[str, int], int] = {}
    for key in partitions:
        if args.to_earliest:
            wanted[key] = earliest[key]
        elif args.to_latest:
            wanted[key] = latest[key]
        elif args.to_offset is not None:
            wanted[key] = args.to_offset
        elif args.shift_by is not None:
            wanted[key] = committed.get(key, latest[key]) + args.shift_by
        else:  # --to-current
            wanted[key] = committed.get(key, latest[key])
        for bound, word in ((earliest[key], "lower than earliest"), (latest[key], "higher than latest")):
            if (wanted[key] < bound) if word.startswith("lower") else (wanted[key] > bound):
                err(f"WARN New offset ({wanted[key]}) is {word} offset for topic partition {key[0]}-{key[1]}. "
                    f"Value will be set to {bound}")  # fmt: skip
                wanted[key] = bound
    if args.execute:
        request = [ConsumerGroupTopicPartitions(group, [TopicPartition(t, p, o) for (t, p), o in wanted.items()])]
        result(client.alter_consumer_group_offsets(request)[group])
    elif not args.dry_run:
        err(DRY_RUN_WARNING)
    out()
    out(f"{'GROUP':<30} {'TOPIC':<30} {'PARTITION':<10} {'NEW-OFFSET':<15}")
    for (topic, partition), offset in sorted(wanted.items()):
        out(f"{group:<30} {topic:<30} {partition!s:<10} {offset!s:<15}")


def _scope(client: Any, args: argparse.Namespace, committed: dict[tuple[str, int], int]) -> list[tuple[str, int]]:
    if args.all_topics:
        return sorted(committed)
    found = client.list_topics(timeout=30).topics
    partitions: list[tuple[str, int]] = []
    for item in args.topic:
        name, _, ids = item.partition(":")
        if name not in found:
            fail(f"Topic '{name}' does not exist")
        wanted = [int(i) for i in ids.split(",")] if ids else sorted(found[name].partitions)
        partitions += [(name, i) for i in wanted]
    return sorted(partitions)


def _root(*names: str) -> tuple[Any, ...]:
    import confluent_kafka

    return tuple(getattr(confluent_kafka, name) for name in names)

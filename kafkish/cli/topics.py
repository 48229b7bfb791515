"""``kafkish topics``: kafka-topics.sh: --create, --list, --describe, --alter (partitions), --delete.

Output is the Java tool's: ``Created topic NAME.``, one name a line for ``--list``, and for
``--describe`` a tab-separated header line per topic (``Topic: ... TopicId: ... PartitionCount: ...
ReplicationFactor: ... Configs: ...`` with the topic's non-default configs) and one line per partition;
a partition being reassigned also shows ``Adding Replicas:`` and ``Removing Replicas:`` and counts in the
replication factor without its adding replicas, as Kafka's tool does (the reassignments come from
ListPartitionReassignments through kafka-python; where that fails they are left out, as Kafka's tool does).
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from kafkish.cli._common import (
    ToolError,
    add_bootstrap,
    admin,
    admin_names,
    api_timeout,
    fail,
    key_values,
    list_topics,
    out,
    result,
)

PREFIX = "Error while executing topic command : "  # kafka-topics.sh's, before any failure's message


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("topics", help="create, list, describe, alter, delete topics")
    add_bootstrap(p)
    action = p.add_mutually_exclusive_group(required=True)
    for name in ("create", "list", "describe", "alter", "delete"):
        action.add_argument(f"--{name}", action="store_true")
    p.add_argument("--topic", help="a topic name (a regular expression for --describe, --alter, --delete)")
    p.add_argument("--partitions", type=int)
    p.add_argument("--replication-factor", type=int)
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--if-not-exists", action="store_true")
    p.add_argument("--if-exists", action="store_true")
    p.add_argument("--exclude-internal", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    client = admin(args)
    if args.create:
        return create(client, args)
    names = sorted(list_topics(client, args, PREFIX).topics)
    if args.exclude_internal:
        names = [n for n in names if not n.startswith("__")]
    if args.topic is not None:
        pattern = re.compile(args.topic)
        names = [n for n in names if pattern.fullmatch(n)]
        if not names and not args.if_exists and not args.list:
            raise ToolError(f"Topic '{args.topic}' does not exist as expected", PREFIX)
    if args.list:
        for name in names:
            out(name)
    elif args.describe:
        describe(client, names, _reassignments(args, names))
    elif args.delete:
        for future in client.delete_topics(names, operation_timeout=api_timeout(args)).values() if names else ():
            result(future, api_timeout(args))
    elif args.alter:
        (NewPartitions,) = admin_names("NewPartitions")

        if args.partitions is None:
            fail("--alter needs --partitions")
        for future in client.create_partitions([NewPartitions(n, args.partitions) for n in names]).values():
            result(future)
    return 0


def create(client: Any, args: argparse.Namespace) -> int:
    from confluent_kafka.cimpl import NewTopic

    if args.topic is None:
        fail("--create needs --topic")
    topic = NewTopic(
        args.topic,
        num_partitions=-1 if args.partitions is None else args.partitions,
        replication_factor=-1 if args.replication_factor is None else args.replication_factor,
        config=key_values(args.config, "--config"),
    )
    timeout = api_timeout(args)
    future = client.create_topics([topic], operation_timeout=timeout)[args.topic]
    try:
        future.result(timeout)
    except Exception as exc:
        if args.if_not_exists and "TOPIC_ALREADY_EXISTS" in repr(exc):
            return 0
        if isinstance(exc, TimeoutError):  # no broker answered within default.api.timeout.ms
            raise ToolError("Timed out waiting for a node assignment. Call: createTopics", PREFIX) from None
        result(future)  # done: its error, at once
    out(f"Created topic {args.topic}.")
    return 0


def _reassignments(args: argparse.Namespace, names: list[str]) -> dict[tuple[str, int], dict[str, list[int]]]:
    if not names:
        return {}
    try:
        from kafkish.cli._kafka_python import admin_client

        client = admin_client(args)
        try:
            listed = client.list_partition_reassignments()
        finally:
            client.close()
    except (Exception, SystemExit):
        return {}
    return {(tp.topic, tp.partition): state for tp, state in listed.items() if tp.topic in names}


def describe(
    client: Any, names: list[str], reassignments: dict[tuple[str, int], dict[str, list[int]]] | None = None
) -> None:
    from confluent_kafka import TopicCollection

    ConfigResource, ResourceType = admin_names("ConfigResource", "ResourceType")

    if not names:
        return
    descriptions = {name: result(f) for name, f in client.describe_topics(TopicCollection(names)).items()}
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
    configs = {res.name: result(f) for res, f in client.describe_configs(resources).items()}
    for name in names:
        d = descriptions[name]
        partitions = sorted(d.partitions, key=lambda p: p.id)
        moving = reassignments or {}
        replication = len(partitions[0].replicas) if partitions else 0
        first = moving.get((name, partitions[0].id)) if partitions else None
        if first is not None and {n.id for n in partitions[0].replicas} & {
            *first["adding_replicas"],
            *first["removing_replicas"],
        }:  # Kafka's isReassignmentInProgress
            replication = len(first["replicas"]) - len(first["adding_replicas"])
        dynamic = ",".join(
            f"{e.name}={e.value}" for e in configs[name].values() if not e.is_default and int(e.source) == 1
        )
        out(
            f"Topic: {name}\tTopicId: {kafka_uuid(str(d.topic_id))}\tPartitionCount: {len(partitions)}"
            f"\tReplicationFactor: {replication}\tConfigs: {dynamic}"
        )
        for p in partitions:
            leader = "none" if p.leader is None or p.leader.id < 0 else str(p.leader.id)
            replicas = ",".join(str(n.id) for n in p.replicas)
            isr = ",".join(str(n.id) for n in p.isr)
            state = moving.get((name, p.id))
            changing = ""
            if state is not None:
                changing = (
                    f"\tAdding Replicas: {','.join(map(str, state['adding_replicas']))}"
                    f"\tRemoving Replicas: {','.join(map(str, state['removing_replicas']))}"
                )
            out(
                f"\tTopic: {name}\tPartition: {p.id}\tLeader: {leader}\tReplicas: {replicas}\tIsr: {isr}"
                f"{changing}\tElr: \tLastKnownElr: "
            )


def kafka_uuid(text: str) -> str:
    """A topic id as Kafka prints it: URL-safe base64 without padding."""
    return text.replace("+", "-").replace("/", "_").rstrip("=")

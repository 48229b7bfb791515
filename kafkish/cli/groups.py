"""``kafkish consumer-groups``: kafka-consumer-groups.sh --list, --describe (offsets, --members,
--state), --delete, --reset-offsets (groups_reset.py).

``--describe`` prints the Java tool's table: columns GROUP, TOPIC, PARTITION, CURRENT-OFFSET,
LOG-END-OFFSET, LAG, CONSUMER-ID, HOST, CLIENT-ID, left-aligned, text columns at least 15 wide (wider
for longer values), PARTITION 10, the offsets 15, ``-`` where there is nothing; a group without members
is announced on standard error with ``Consumer group 'G' has no active members.``; ``--members``
and ``--state`` print Kafka's tables for those.
"""

from __future__ import annotations

import argparse
from typing import Any

from kafkish.cli import groups_reset
from kafkish.cli._common import add_bootstrap, admin, admin_names, err, fail, out, result


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("consumer-groups", help="list, describe, delete groups")
    add_bootstrap(p)
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true")
    action.add_argument("--describe", action="store_true")
    action.add_argument("--delete", action="store_true")
    action.add_argument("--reset-offsets", action="store_true")
    p.add_argument("--group", action="append", default=[])
    p.add_argument("--all-groups", action="store_true")
    p.add_argument("--members", action="store_true")
    p.add_argument("--state", action="store_true")
    p.add_argument("--verbose", action="store_true")
    groups_reset.add_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    client = admin(args)
    if args.list:
        for listing in sorted(result(client.list_consumer_groups()).valid, key=lambda g: g.group_id):
            out(listing.group_id)
        return 0
    groups = list(args.group)
    if args.all_groups:
        groups = sorted(g.group_id for g in result(client.list_consumer_groups()).valid)
    if not groups:
        fail("Option [describe] or [delete] takes one of these options: [all-groups], [group]")
    if args.delete:
        for group, future in client.delete_consumer_groups(groups).items():
            result(future)
            out(f"Deletion of requested consumer groups ('{group}') was successful.")
        return 0
    for group in groups:
        description = result(client.describe_consumer_groups([group])[group])
        state = _state(description)
        if state == "Dead" and not args.reset_offsets:
            fail(f"Consumer group '{group}' does not exist.")
        if args.reset_offsets:
            groups_reset.reset(client, args, group, state)
        elif args.state:
            _print_state(group, description, state)
        elif args.members:
            _print_members(group, description)
        else:
            _print_offsets(client, group, description)
    return 0


def _state(description: Any) -> str:
    name = description.state.name  # ConsumerGroupState: STABLE, EMPTY, DEAD, PREPARING_REBALANCE, ...
    return "".join(part.capitalize() for part in name.split("_"))


def _table(rows: list[list[str]], fixed: dict[int, int], flexible: dict[int, int], end: str = "") -> None:
    """Kafka's ``%-Ns`` columns: ``fixed`` widths, ``flexible`` ones at least their minimum, wider for longer
    values; a column in neither is the last one, not padded (``end`` follows every line)."""
    widths: dict[int, int] = dict(fixed)
    for column, least in flexible.items():
        widths[column] = max([least, *(len(row[column]) for row in rows)])
    out()
    for row in rows:
        cells = [cell.ljust(widths[i]) if i in widths else cell for i, cell in enumerate(row)]
        out(" ".join(cells) + end)


def _no_members(group: str) -> None:
    err("")
    err(f"Consumer group '{group}' has no active members.")


def _print_offsets(client: Any, group: str, description: Any) -> None:
    ConsumerGroupTopicPartitions, TopicPartition = _root_names("ConsumerGroupTopicPartitions", "TopicPartition")
    (OffsetSpec,) = admin_names("OffsetSpec")

    request = [ConsumerGroupTopicPartitions(group)]
    committed = result(client.list_consumer_group_offsets(request)[group]).topic_partitions
    owners: dict[tuple[str, int], Any] = {}
    for member in description.members:
        for tp in member.assignment.topic_partitions:
            owners[(tp.topic, tp.partition)] = member
    positions = {(tp.topic, tp.partition): tp.offset for tp in committed}
    keys = sorted(set(positions) | set(owners))
    ends: dict[tuple[str, int], int] = {}
    if keys:
        futures = client.list_offsets({TopicPartition(t, p): OffsetSpec.latest() for t, p in keys})
        for tp, future in futures.items():
            ends[(tp.topic, tp.partition)] = result(future).offset
    if not description.members:
        _no_members(group)
    header = "GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID"
    rows = [header.split()]
    for key in keys:
        current = positions.get(key, -1)
        end = ends.get(key, -1)
        member = owners.get(key)
        rows.append([
            group, key[0], str(key[1]),
            str(current) if current >= 0 else "-",
            str(end) if end >= 0 else "-",
            str(end - current) if current >= 0 and end >= 0 else "-",
            member.member_id if member else "-",
            member.host if member else "-",
            member.client_id if member else "-",
        ])  # fmt: skip
    _table(rows, {2: 10, 3: 15, 4: 15, 5: 15}, {0: 15, 1: 15, 6: 15, 7: 15})


def _print_members(group: str, description: Any) -> None:
    if not description.members:
        _no_members(group)
    rows = [["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"]]
    for m in description.members:
        rows.append([group, m.member_id, m.host, m.client_id, str(len(m.assignment.topic_partitions))])
    _table(rows, {4: 15}, {0: 15, 1: 15, 2: 15, 3: 15}, end=" ")


def _print_state(group: str, description: Any, state: str) -> None:
    if not description.members:
        _no_members(group)
    coordinator = description.coordinator
    where = f"{coordinator.host}:{coordinator.port}  ({coordinator.id})"
    rows = [
        ["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"],
        [group, where, description.partition_assignor or "", state, str(len(description.members))],
    ]
    _table(rows, {2: 20, 3: 15}, {0: 25, 1: 25})


def _root_names(*names: str) -> tuple[Any, ...]:
    import confluent_kafka

    return tuple(getattr(confluent_kafka, name) for name in names)

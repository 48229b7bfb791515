"""``kafkish reassign-partitions --execute --throttle N``: the replication throttles Kafka's tool sets for a
reassignment before it starts it (``ReassignPartitionsCommand.modifyReassignmentThrottle``).

- The moves: per partition, its sources (the current replicas, or for a partition already being
  reassigned, its replicas less those being added) and its destinations (the new replicas that are not
  sources); reassignments already running are included, as ``--additional`` may resubmit them.
- Each moving topic gets ``leader.replication.throttled.replicas`` = every ``partition:source`` and
  ``follower.replication.throttled.replicas`` = every ``partition:destination`` (sorted as strings,
  possibly empty), set with IncrementalAlterConfigs.
- Every broker that is a source or a destination gets ``leader.replication.throttled.rate`` and
  ``follower.replication.throttled.rate`` = N, then the tool prints ``The inter-broker throttle limit
  was set to N B/s``. ``--verify`` (or ``--cancel``) clears them all once nothing moves.

The move computation is pure; ``apply`` talks to the cluster through confluent-kafka.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafkish.cli._common import admin, admin_names, out, result

VERIFY_WARNING = (
    "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed."
)


@dataclass(slots=True)
class PartitionMove:
    sources: set[int] = field(default_factory=set)
    destinations: set[int] = field(default_factory=set)


MoveMap = dict[str, dict[int, PartitionMove]]


def proposed_moves(
    reassigning: Mapping[tuple[str, int], Mapping[str, Sequence[int]]],
    proposed: Mapping[tuple[str, int], Sequence[int]],
    current: Mapping[tuple[str, int], Sequence[int]],
) -> MoveMap:
    """Kafka's ``calculateProposedMoveMap``: the running reassignments' moves, then the proposed ones
    (a partition already moving keeps its sources)."""
    moves: MoveMap = {}
    for (topic, partition), state in reassigning.items():
        adding = set(state.get("adding_replicas") or [])
        sources = set(state.get("replicas") or []) - adding
        moves.setdefault(topic, {})[partition] = PartitionMove(sources, adding)
    for (topic, partition), replicas in proposed.items():
        topic_moves = moves.setdefault(topic, {})
        if partition in topic_moves:
            sources = set(topic_moves[partition].sources)
        elif (topic, partition) in current:
            sources = set(current[(topic, partition)])
        else:
            raise ValueError(f"Trying to reassign a topic partition {topic}-{partition} with 0 replicas")
        topic_moves[partition] = PartitionMove(sources, set(replicas) - sources)
    return moves


def leader_throttles(moves: MoveMap) -> dict[str, str]:
    """Per topic, ``partition:source`` of every move (Kafka's ``calculateLeaderThrottles``)."""
    return {
        topic: ",".join(sorted({f"{p}:{s}" for p, move in partitions.items() for s in move.sources}))
        for topic, partitions in moves.items()
    }


def follower_throttles(moves: MoveMap) -> dict[str, str]:
    """Per topic, ``partition:destination`` of every move (Kafka's ``calculateFollowerThrottles``)."""
    return {
        topic: ",".join(
            sorted({f"{p}:{d}" for p, move in partitions.items() for d in move.destinations if d not in move.sources})
        )
        for topic, partitions in moves.items()
    }


def reassigning_brokers(moves: MoveMap) -> list[int]:
    return sorted({b for partitions in moves.values() for m in partitions.values() for b in m.sources | m.destinations})


def apply(args: argparse.Namespace, moves: MoveMap, rate: int) -> None:
    """Set the topics' throttled replica lists, then the brokers' rates (as Kafka's tool, in that order)."""
    resource, resource_type, config_entry, op_type = admin_names(
        "ConfigResource", "ResourceType", "ConfigEntry", "AlterConfigOpType"
    )

    def setting(name: str, value: str) -> Any:
        return config_entry(name, value, incremental_operation=op_type.SET)

    leaders, followers = leader_throttles(moves), follower_throttles(moves)
    confluent = admin(args)
    topics = [
        resource(resource_type.TOPIC, topic, incremental_configs=[
            setting("leader.replication.throttled.replicas", leaders[topic]),
            setting("follower.replication.throttled.replicas", followers[topic]),
        ])
        for topic in sorted(moves)
    ]  # fmt: skip
    if topics:
        for future in confluent.incremental_alter_configs(topics).values():
            result(future)
    for broker in reassigning_brokers(moves):  # librdkafka takes one broker resource per call
        rates = [
            setting("leader.replication.throttled.rate", str(rate)),
            setting("follower.replication.throttled.rate", str(rate)),
        ]
        for future in confluent.incremental_alter_configs(
            [resource(resource_type.BROKER, str(broker), incremental_configs=rates)]
        ).values():
            result(future)
    out(f"The inter-broker throttle limit was set to {rate} B/s")

"""Kafka's replica assignment (``AdminUtils.assignReplicasToBrokers``) as pure functions: which brokers
hold each partition's replicas. Standard library only, so that both sides use this one copy: the
broker's controller (``broker.controller.assignment`` wraps it with Kafka's error codes) and
``kafkish reassign-partitions --generate``, which may not import the broker's packages.

- Rack-unaware (no broker has a rack): the first replica of each partition goes round-robin over the
  brokers from a start index; the others follow it with a shift that grows by one each time the
  partition id wraps around the broker list, so followers do not repeat the same sequences.
- Rack-aware (every broker has a rack): the same, over a broker list that alternates racks
  (``rack_alternated_brokers``), and a follower is skipped while its rack (or itself) already holds a
  replica and some rack (broker) holds none. Some brokers with a rack and some without is an error.

The start index and the first shift are random unless ``fixed_start_index`` is given (creating
partitions of an existing topic passes the index of its partition 0's first replica, and the id of
the first new partition). Errors are ``AssignmentError`` subclasses with Kafka's messages; nothing
here has state.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass


class AssignmentError(ValueError):
    """No assignment is possible with these brokers (the message is Kafka's)."""


class InvalidPartitions(AssignmentError):
    """Kafka's InvalidPartitionsException."""


class InvalidReplicationFactor(AssignmentError):
    """Kafka's InvalidReplicationFactorException."""


class MissingRacks(AssignmentError):
    """Kafka's AdminOperationException: only some of the brokers have a rack."""


@dataclass(frozen=True, slots=True)
class BrokerRack:
    """A broker as assignment sees it: its id and rack (None: no ``broker.rack``)."""

    id: int
    rack: str | None = None


def assign_replicas(
    brokers: Sequence[BrokerRack],
    partitions: int,
    replication_factor: int,
    fixed_start_index: int = -1,
    start_partition_id: int = -1,
    rng: random.Random | None = None,
) -> list[list[int]]:
    """The replicas of ``partitions`` partitions numbered from ``max(0, start_partition_id)``, in
    order; the first replica of each is its preferred leader. ``brokers`` in the order Kafka's
    callers pass them (sorted by id). Raises AssignmentError as Kafka's AdminUtils does."""
    if partitions <= 0:
        raise InvalidPartitions("Number of partitions must be larger than 0.")
    if replication_factor <= 0:
        raise InvalidReplicationFactor("Replication factor must be larger than 0.")
    if replication_factor > len(brokers):
        raise InvalidReplicationFactor(
            f"Replication factor: {replication_factor} larger than available brokers: {len(brokers)}."
        )
    rng = rng or random.Random()
    if all(b.rack is None for b in brokers):
        return _rack_unaware(
            partitions, replication_factor, [b.id for b in brokers], fixed_start_index, start_partition_id, rng
        )
    if any(b.rack is None for b in brokers):
        raise MissingRacks("Not all brokers have rack information for replica rack aware assignment.")
    racks = {b.id: b.rack for b in brokers if b.rack is not None}
    return _rack_aware(partitions, replication_factor, racks, fixed_start_index, start_partition_id, rng)


def _rack_unaware(
    partitions: int, factor: int, brokers: list[int], fixed_start: int, start_partition: int, rng: random.Random
) -> list[list[int]]:
    n = len(brokers)
    return [
        [brokers[first]] + [brokers[_replica_index(first, shift, j, n)] for j in range(factor - 1)]
        for first, shift in _first_replicas(partitions, n, fixed_start, start_partition, rng)
    ]


def _rack_aware(
    partitions: int, factor: int, racks: dict[int, str], fixed_start: int, start_partition: int, rng: random.Random
) -> list[list[int]]:
    rack_count = len(set(racks.values()))
    arranged = rack_alternated_brokers(racks)
    n = len(arranged)
    out = []
    for first, shift in _first_replicas(partitions, n, fixed_start, start_partition, rng):
        leader = arranged[first]
        replicas = [leader]
        racks_used = {racks[leader]}
        brokers_used = {leader}
        k = 0
        for _ in range(factor - 1):
            while True:
                broker = arranged[_replica_index(first, shift * rack_count, k, n)]
                rack = racks[broker]
                k += 1
                # Skip a broker whose rack already has a replica while some rack has none, or that
                # already has one while some broker has none.
                if (rack not in racks_used or len(racks_used) == rack_count) and (
                    broker not in brokers_used or len(brokers_used) == n
                ):
                    replicas.append(broker)
                    racks_used.add(rack)
                    brokers_used.add(broker)
                    break
        out.append(replicas)
    return out


def _first_replicas(
    partitions: int, n: int, fixed_start: int, start_partition: int, rng: random.Random
) -> Iterator[tuple[int, int]]:
    """Per partition, in order: the index of its first replica in the list of ``n`` brokers, and the
    shift of its followers (one more each time the partition id wraps around the list)."""
    start_index = fixed_start if fixed_start >= 0 else rng.randrange(n)
    shift = fixed_start if fixed_start >= 0 else rng.randrange(n)
    current = max(0, start_partition)
    for _ in range(partitions):
        if current > 0 and current % n == 0:
            shift += 1
        yield (current + start_index) % n, shift
        current += 1


def _replica_index(first: int, second_shift: int, replica: int, brokers: int) -> int:
    shift = 1 + (second_shift + replica) % (brokers - 1)
    return (first + shift) % brokers


def rack_alternated_brokers(racks: Mapping[int, str]) -> list[int]:
    """Brokers taken from each rack in turn (racks by name, brokers by id): rack1 {0, 1}, rack2 {2}
    gives 0, 2, 1."""
    by_rack: dict[str, list[int]] = {}
    for broker, rack in racks.items():
        by_rack.setdefault(rack, []).append(broker)
    queues = [sorted(by_rack[rack]) for rack in sorted(by_rack)]
    out: list[int] = []
    depth = 0
    while len(out) < len(racks):
        out.extend(queue[depth] for queue in queues if depth < len(queue))
        depth += 1
    return out

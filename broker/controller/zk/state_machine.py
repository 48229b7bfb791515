"""The controller's partition and replica state machines as transition tables, and its election strategies.

Pure: no kazoo, no I/O. As Kafka's ZooKeeper-era PartitionStateMachine and ReplicaStateMachine, each
state names the states it may be entered from; ``transition`` refuses anything else (a bug in the
controller, logged by the caller, never a crash of the broker).

Partitions: NonExistent -> New (assigned, no leader yet) -> Online (a live leader) <-> Offline (its
leader died and no replica could take over) -> NonExistent (deleted).
Replicas: NonExistent -> New -> Online <-> Offline; Online/Offline -> DeletionStarted -> NonExistent.

Elections (Kafka's PartitionLeaderElectionAlgorithms):
- ``offline_partition_leader``: the first replica, in replica order, that is alive and in the ISR;
  with unclean election enabled, else the first live replica (the ISR becomes just it). None: the
  partition stays offline.
- ``initial_leader``: a new partition's leader is its first live replica; its ISR every live replica.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence


class PartitionState(enum.Enum):
    NON_EXISTENT = "NonExistentPartition"
    NEW = "NewPartition"
    ONLINE = "OnlinePartition"
    OFFLINE = "OfflinePartition"


class ReplicaState(enum.Enum):
    NON_EXISTENT = "NonExistentReplica"
    NEW = "NewReplica"
    ONLINE = "OnlineReplica"
    OFFLINE = "OfflineReplica"
    DELETION_STARTED = "ReplicaDeletionStarted"


P, R = PartitionState, ReplicaState

PARTITION_TRANSITIONS: dict[PartitionState, frozenset[PartitionState]] = {
    P.NEW: frozenset({P.NON_EXISTENT}),
    P.ONLINE: frozenset({P.NEW, P.ONLINE, P.OFFLINE}),
    P.OFFLINE: frozenset({P.NEW, P.ONLINE, P.OFFLINE}),
    P.NON_EXISTENT: frozenset({P.OFFLINE, P.ONLINE, P.NEW}),
}
"""Target state -> the states it may be entered from."""

REPLICA_TRANSITIONS: dict[ReplicaState, frozenset[ReplicaState]] = {
    R.NEW: frozenset({R.NON_EXISTENT}),
    R.ONLINE: frozenset({R.NEW, R.ONLINE, R.OFFLINE}),
    R.OFFLINE: frozenset({R.NEW, R.ONLINE, R.OFFLINE}),
    R.DELETION_STARTED: frozenset({R.ONLINE, R.OFFLINE, R.NEW}),
    R.NON_EXISTENT: frozenset({R.DELETION_STARTED}),
}


class IllegalStateChange(Exception):
    pass


def partition_transition(current: PartitionState, target: PartitionState) -> PartitionState:
    """``target`` if the table allows entering it from ``current``; else IllegalStateChange."""
    if current not in PARTITION_TRANSITIONS[target]:
        raise IllegalStateChange(f"partition cannot move from {current.value} to {target.value}")
    return target


def replica_transition(current: ReplicaState, target: ReplicaState) -> ReplicaState:
    if current not in REPLICA_TRANSITIONS[target]:
        raise IllegalStateChange(f"replica cannot move from {current.value} to {target.value}")
    return target


def initial_leader(replicas: Sequence[int], live: Collection[int]) -> tuple[int, list[int]] | None:
    """A new partition's leader and ISR: its first live replica, and every live replica."""
    alive = [r for r in replicas if r in live]
    return (alive[0], alive) if alive else None


def offline_partition_leader(
    replicas: Sequence[int], isr: Sequence[int], live: Collection[int], unclean: bool
) -> tuple[int, list[int]] | None:
    """The new leader and ISR of a partition whose leader is gone; None: no eligible replica."""
    for replica in replicas:
        if replica in live and replica in isr:
            return replica, [r for r in isr if r in live]
    if unclean:
        for replica in replicas:
            if replica in live:
                return replica, [replica]
    return None

"""The controller's election strategies and state transition tables (pure functions, no ZooKeeper)."""

from __future__ import annotations

import pytest

from broker.controller.zk.state_machine import (
    IllegalStateChange,
    PartitionState,
    ReplicaState,
    initial_leader,
    offline_partition_leader,
    partition_transition,
    replica_transition,
)


def test_a_new_partition_is_led_by_its_first_live_replica_with_every_live_replica_in_sync() -> None:
    assert initial_leader([2, 0, 1], {0, 1, 2}) == (2, [2, 0, 1])
    assert initial_leader([2, 0, 1], {0, 1}) == (0, [0, 1])
    assert initial_leader([2], {0, 1}) is None


def test_a_dead_leader_is_replaced_from_the_isr_in_replica_order() -> None:
    # replica order decides, not ISR order; dead members leave the ISR
    assert offline_partition_leader([0, 1, 2], [2, 1, 0], {1, 2}, unclean=False) == (1, [2, 1])
    assert offline_partition_leader([0, 1, 2], [0, 2], {1, 2}, unclean=False) == (2, [2])


def test_without_unclean_election_a_partition_whose_isr_is_dead_stays_offline() -> None:
    assert offline_partition_leader([0, 1], [0], {1}, unclean=False) is None
    assert offline_partition_leader([0, 1], [0], {1}, unclean=True) == (1, [1])
    assert offline_partition_leader([0, 1], [0], set(), unclean=True) is None


def test_transitions_follow_the_tables() -> None:
    assert partition_transition(PartitionState.NON_EXISTENT, PartitionState.NEW) is PartitionState.NEW
    assert partition_transition(PartitionState.NEW, PartitionState.ONLINE) is PartitionState.ONLINE
    assert partition_transition(PartitionState.ONLINE, PartitionState.OFFLINE) is PartitionState.OFFLINE
    assert partition_transition(PartitionState.OFFLINE, PartitionState.ONLINE) is PartitionState.ONLINE
    with pytest.raises(IllegalStateChange):
        partition_transition(PartitionState.NON_EXISTENT, PartitionState.ONLINE)
    with pytest.raises(IllegalStateChange):
        partition_transition(PartitionState.ONLINE, PartitionState.NEW)
    assert replica_transition(ReplicaState.ONLINE, ReplicaState.DELETION_STARTED) is ReplicaState.DELETION_STARTED
    with pytest.raises(IllegalStateChange):
        replica_transition(ReplicaState.NON_EXISTENT, ReplicaState.ONLINE)

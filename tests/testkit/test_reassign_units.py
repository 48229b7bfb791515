"""``kafkish reassign-partitions``' pure parts: --generate's rack-aware proposal (Kafka's assignment, in
``kafkish.assignment``, the very code the broker's controller runs) and the replication throttles
``--execute --throttle`` sets for the moving replicas."""

from __future__ import annotations

from typing import Any

import pytest

from kafkish.assignment import BrokerRack, MissingRacks, assign_replicas
from kafkish.cli._common import ToolError
from kafkish.cli.reassign import broker_racks, propose
from kafkish.cli.reassign_throttle import follower_throttles, leader_throttles, proposed_moves, reassigning_brokers

RACKS = {0: "rack1", 1: "rack3", 2: "rack3", 3: "rack2", 4: "rack2", 5: "rack1"}
DESCRIBED: list[dict[str, Any]] = [{"broker_id": b, "host": "h", "port": 9092 + b, "rack": r} for b, r in RACKS.items()]


def test_rack_aware_proposal_is_kafkas_for_a_fixed_start_index() -> None:
    # Kafka's AdminRackAwareTest.testGetRackAlternatedBrokerListAndAssignReplicasToBrokers
    current = {("t", p): [0, 1, 2] for p in range(7)}
    brokers = broker_racks(DESCRIBED, list(RACKS), rack_aware=True)
    plan = propose(current, brokers, fixed_start_index=0)
    assert list(plan.values()) == [[0, 3, 1], [3, 1, 5], [1, 5, 4], [5, 4, 2], [4, 2, 0], [2, 0, 3], [0, 4, 2]]


@pytest.mark.parametrize("start", range(6))
def test_rack_aware_proposal_puts_each_partitions_replicas_on_distinct_racks(start: int) -> None:
    current = {("t", p): [0, 1, 2] for p in range(12)}
    plan = propose(current, broker_racks(DESCRIBED, list(RACKS), rack_aware=True), fixed_start_index=start)
    assert all(len({RACKS[b] for b in replicas}) == 3 for replicas in plan.values())


def test_only_the_listed_brokers_known_to_the_cluster_are_used() -> None:
    brokers = broker_racks(DESCRIBED, [5, 0, 3, 9], rack_aware=True)
    assert brokers == [BrokerRack(0, "rack1"), BrokerRack(3, "rack2"), BrokerRack(5, "rack1")]
    assert [b.rack for b in broker_racks(DESCRIBED, [0, 3], rack_aware=False)] == [None, None]


def test_some_brokers_without_a_rack_is_kafkas_error_unless_rack_awareness_is_off() -> None:
    described: list[dict[str, Any]] = [*DESCRIBED, {"broker_id": 6, "host": "h", "port": 1, "rack": None}]
    with pytest.raises(ToolError) as failure:
        broker_racks(described, [0, 1, 6], rack_aware=True)
    assert str(failure.value) == (
        "Not all brokers have rack information. Add --disable-rack-aware in command line to make replica "
        "assignment without rack information."
    )
    unaware = broker_racks(described, [0, 1, 6], rack_aware=False)
    assert len(propose({("t", 0): [0, 1]}, unaware)[("t", 0)]) == 2
    with pytest.raises(MissingRacks):  # the algorithm itself refuses such a mix, as Kafka's AdminUtils
        assign_replicas([BrokerRack(0, "a"), BrokerRack(1)], 1, 1)


def test_throttles_name_the_sources_for_leaders_and_the_new_replicas_for_followers() -> None:
    current = {("a", 0): [1, 2], ("a", 1): [2, 3], ("b", 0): [1]}
    proposed = {("a", 0): [1, 4], ("a", 1): [2, 3], ("b", 0): [5, 6]}
    running = {("c", 2): {"replicas": [7, 8, 9], "adding_replicas": [9], "removing_replicas": [7]}}
    moves = proposed_moves(running, proposed, current)
    assert leader_throttles(moves) == {"a": "0:1,0:2,1:2,1:3", "b": "0:1", "c": "2:7,2:8"}
    assert follower_throttles(moves) == {"a": "0:4", "b": "0:5,0:6", "c": "2:9"}
    assert reassigning_brokers(moves) == [1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_resubmitting_a_running_reassignment_keeps_its_sources() -> None:
    running = {("a", 0): {"replicas": [1, 2, 3], "adding_replicas": [3], "removing_replicas": [1]}}
    moves = proposed_moves(running, {("a", 0): [2, 3]}, {("a", 0): [1, 2, 3]})
    assert leader_throttles(moves) == {"a": "0:1,0:2"} and follower_throttles(moves) == {"a": "0:3"}

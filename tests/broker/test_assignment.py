"""Replica assignment (broker/controller/assignment.py): Kafka's AdminUtils outputs, and manual checks."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from broker.controller.assignment import (
    BrokerRack,
    assign_replicas,
    check_manual_assignment,
    check_replicas,
    rack_alternated_brokers,
)
from broker.controller.errors import ControllerError
from protocol.errors import ErrorCode


def brokers(*ids: int, racks: dict[int, str] | None = None) -> list[BrokerRack]:
    return [BrokerRack(i, (racks or {}).get(i)) for i in ids]


def test_rack_unaware_known_output() -> None:
    # Kafka's AdminTest.testReplicaAssignment: 5 brokers, 10 partitions, RF 3, start index 0.
    expected = [
        [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1],
        [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 0, 1], [4, 1, 2],
    ]  # fmt: skip
    assert assign_replicas(brokers(0, 1, 2, 3, 4), 10, 3, fixed_start_index=0) == expected


def test_rack_alternated_list_known_output() -> None:
    racks = {0: "rack1", 1: "rack3", 2: "rack3", 3: "rack2", 4: "rack2", 5: "rack1"}
    assert rack_alternated_brokers(racks) == [0, 3, 1, 5, 4, 2]
    assert rack_alternated_brokers({b: r for b, r in racks.items() if b != 5}) == [0, 3, 1, 4, 2]


def test_rack_aware_known_output() -> None:
    # Kafka's AdminRackAwareTest.testGetRackAlternatedBrokerListAndAssignReplicasToBrokers.
    racks = {0: "rack1", 1: "rack3", 2: "rack3", 3: "rack2", 4: "rack2", 5: "rack1"}
    got = assign_replicas(brokers(*range(6), racks=racks), 7, 3, fixed_start_index=0, start_partition_id=0)
    assert got == [[0, 3, 1], [3, 1, 5], [1, 5, 4], [5, 4, 2], [4, 2, 0], [2, 0, 3], [0, 4, 2]]


def test_rack_aware_spreads_each_partition_over_every_rack() -> None:
    racks = {0: "rack1", 1: "rack2", 2: "rack2", 3: "rack3", 4: "rack3", 5: "rack1"}
    got = assign_replicas(brokers(*range(6), racks=racks), 6, 3, fixed_start_index=2, start_partition_id=0)
    for replicas in got:
        assert len({racks[b] for b in replicas}) == 3
    assert Counter(r[0] for r in got) == Counter(range(6))  # each broker leads one partition


def test_added_partitions_start_from_the_given_partition_id() -> None:
    # Creating partitions of a topic passes its first replica's index and the first new partition id:
    # leaders continue round-robin, the follower shift starts again from the fixed index.
    later = assign_replicas(brokers(0, 1, 2, 3, 4), 5, 3, fixed_start_index=0, start_partition_id=6)
    assert later == [[1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1], [0, 2, 3]]


def test_one_broker_gives_what_a_single_broker_always_gave() -> None:
    for seed in range(5):
        assert assign_replicas(brokers(7), 4, 1, rng=random.Random(seed)) == [[7]] * 4


def test_random_start_is_still_balanced() -> None:
    got = assign_replicas(brokers(1, 2, 3), 9, 2, rng=random.Random(3))
    assert Counter(r[0] for r in got) == {1: 3, 2: 3, 3: 3}
    assert all(len(set(r)) == 2 for r in got)


@pytest.mark.parametrize(
    ("partitions", "factor", "code", "message"),
    [
        (0, 1, ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0."),
        (1, 0, ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0."),
        (1, 3, ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor: 3 larger than available brokers: 2."),
    ],
)
def test_impossible_requests(partitions: int, factor: int, code: ErrorCode, message: str) -> None:
    with pytest.raises(ControllerError) as caught:
        assign_replicas(brokers(0, 1), partitions, factor)
    assert (caught.value.code, caught.value.message) == (code, message)


def test_some_brokers_without_a_rack() -> None:
    with pytest.raises(ControllerError, match="Not all brokers have rack information"):
        assign_replicas(brokers(0, 1, racks={0: "a"}), 1, 1)


def test_manual_assignment_checks() -> None:
    live = [0, 1, 2]
    assert check_manual_assignment({1: [2, 0], 0: [0, 1]}, live) == [[0, 1], [2, 0]]
    cases: list[tuple[dict[int, list[int]], str]] = [
        ({0: [0, 0]}, "The manual partition assignment includes the broker 0 more than once."),
        ({0: [0, 9]}, "The manual partition assignment includes broker 9, but no such broker is registered."),
        ({0: []}, "The manual partition assignment includes an empty replica list."),
        (
            {0: [0, 1], 1: [2]},
            "The manual partition assignment includes a partition with 1 replica(s), but this is not "
            "consistent with previous partitions, which have 2 replica(s).",
        ),
        ({0: [0], 2: [1]}, "partitions should be a consecutive 0-based integer sequence"),
    ]
    for assignment, message in cases:
        with pytest.raises(ControllerError) as caught:
            check_manual_assignment(assignment, live)
        assert caught.value.code == ErrorCode.INVALID_REPLICA_ASSIGNMENT
        assert caught.value.message == message


def test_check_replicas_of_a_reassignment() -> None:
    assert check_replicas([2, 1], [1, 2]) == [2, 1]
    with pytest.raises(ControllerError, match="replica\\(s\\)"):
        check_replicas([1], [1, 2], factor=2)

"""The pure parts of reassignment: Kafka's ReplicaAssignment arithmetic, target checks, the state a move
leaves a partition in, and /admin/reassign_partitions' JSON (byte for byte as Kafka's ZkData writes it)."""

from __future__ import annotations

import pytest

from broker.controller.zk.reassignment import (
    build_reassignment,
    check_target,
    is_complete,
    origin_replicas,
    reassign_to,
    reassigned_state,
    target_replicas,
)
from broker.controller.zk.znodes import (
    PartitionState,
    ReplicaAssignment,
    TopicAssignment,
    ZnodeDataError,
    decode_reassign_partitions,
    decode_topic_assignment,
    encode_reassign_partitions,
    encode_topic_assignment,
)
from protocol.errors import ErrorCode


def test_reassign_to_puts_the_target_first_and_keeps_the_origin() -> None:
    moving = reassign_to(ReplicaAssignment((1, 2, 3)), [3, 4, 2])  # Kafka's own example
    assert moving == ReplicaAssignment((3, 4, 2, 1), (4,), (1,))
    assert (origin_replicas(moving), target_replicas(moving)) == ((3, 2, 1), (3, 4, 2))
    replaced = reassign_to(moving, [5, 6])  # a new reassignment starts from the original replicas
    assert replaced == ReplicaAssignment((5, 6, 3, 2, 1), (5, 6), (3, 2, 1))
    assert build_reassignment(moving, None) == ReplicaAssignment((3, 2, 1))  # cancelled: back to ORS
    assert build_reassignment(ReplicaAssignment((1, 2)), None) is None  # nothing to cancel
    assert reassign_to(ReplicaAssignment((1, 2, 3)), [1, 2, 3]) == ReplicaAssignment((1, 2, 3))


@pytest.mark.parametrize(
    "target,message",
    [
        ([], "Empty replica list specified in partition reassignment."),
        ([1, 1], "Duplicate replica ids in partition reassignment replica list: List(1, 1)"),
        ([1, -1], "Invalid broker id in replica list: List(1, -1)"),
        (
            [1, 9],
            "Replica assignment has brokers that are not alive. Replica list: List(9), live broker list: Set(1, 2, 3)",
        ),
    ],
)
def test_targets_are_checked_as_kafka_checks_them(target: list[int], message: str) -> None:
    error = check_target(target, ReplicaAssignment((1, 2)), {1, 2, 3})
    assert error is not None and (error.code, error.message) == (ErrorCode.INVALID_REPLICA_ASSIGNMENT, message)
    assert check_target([3, 2], ReplicaAssignment((1, 2)), {1, 2, 3}) is None
    assert check_target([1, 5], ReplicaAssignment((1, 5)), {1}) is None  # only the added ones must be alive


def test_the_state_a_move_leaves() -> None:
    state = PartitionState(0, 4, (0, 1, 2, 3), 2)
    assert reassigned_state(state, (1, 2, 3), {0, 1, 2, 3}, 5) == PartitionState(1, 5, (1, 2, 3), 5)
    assert reassigned_state(state, (3, 0), {0, 1, 2, 3}, 5) == PartitionState(0, 5, (0, 3), 5)  # leader stays
    assert reassigned_state(state, (3, 0), {1, 2, 3}, 5) == PartitionState(3, 5, (0, 3), 5)  # a dead leader goes
    moving = ReplicaAssignment((1, 2, 3, 0), (3,), (0,))
    assert not is_complete(moving, PartitionState(0, 1, (0, 1, 2), 1))
    assert is_complete(moving, PartitionState(0, 1, (0, 1, 2, 3), 1))
    assert is_complete(ReplicaAssignment((1, 2)), None)


def test_the_znodes_json() -> None:
    partitions = {("t", 0): [1, 2, 3], ("u", 1): [4]}
    data = encode_reassign_partitions(partitions)
    assert data == (b'{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]},'
                    b'{"topic":"u","partition":1,"replicas":[4]}]}')  # fmt: skip
    assert decode_reassign_partitions(data) == {("t", 0): (1, 2, 3), ("u", 1): (4,)}
    with_dirs = b'{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1],"log_dirs":["any"]}]}'
    assert decode_reassign_partitions(with_dirs) == {("t", 0): (1,)}
    with pytest.raises(ZnodeDataError):
        decode_reassign_partitions(b'{"version":1,"partitions":[{"topic":"t","replicas":[1]}]}')
    moving = TopicAssignment({0: ReplicaAssignment((3, 1, 2, 0), (3,), (0,)), 1: ReplicaAssignment((1, 2))})
    encoded = encode_topic_assignment(moving)
    assert encoded == (b'{"version":2,"partitions":{"0":[3,1,2,0],"1":[1,2]},"adding_replicas":{"0":[3]},'
                       b'"removing_replicas":{"0":[0]}}')  # fmt: skip
    assert decode_topic_assignment("t", encoded) == moving

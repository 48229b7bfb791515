"""Replica assignment for the controllers: Kafka's algorithm and the checks of assignments clients give.

``assign_replicas`` is Kafka's ``AdminUtils.assignReplicasToBrokers``, the ZooKeeper-era controller's
algorithm (rack-unaware, or rack-aware when every broker has a rack). The pure algorithm lives in
``kafkish.assignment``, the one module of the public package the broker imports (an import-linter
contract keeps it so): ``kafkish reassign-partitions --generate`` needs the very same algorithm and may
not import the broker's packages, so the code sits where both may reach it. Here its errors become
``ControllerError`` with the codes Kafka answers.

``check_manual_assignment`` / ``check_replicas`` check assignments given by a client, with the KRaft
controller's error codes and messages. Everything raises ``ControllerError``; nothing here has state.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence

from broker.controller.errors import ControllerError
from kafkish import assignment
from kafkish.assignment import BrokerRack, rack_alternated_brokers
from protocol.errors import ErrorCode

__all__ = ["BrokerRack", "assign_replicas", "check_manual_assignment", "check_replicas", "rack_alternated_brokers"]


def assign_replicas(
    brokers: Sequence[BrokerRack],
    partitions: int,
    replication_factor: int,
    fixed_start_index: int = -1,
    start_partition_id: int = -1,
    rng: random.Random | None = None,
) -> list[list[int]]:
    """Kafka's assignment (``kafkish.assignment.assign_replicas``, which says how); raises
    ControllerError with the code Kafka's controller answers for each of its errors."""
    try:
        return assignment.assign_replicas(
            brokers, partitions, replication_factor, fixed_start_index, start_partition_id, rng
        )
    except assignment.AssignmentError as exc:
        raise ControllerError(_CODES[type(exc)], str(exc)) from None


_CODES: dict[type[assignment.AssignmentError], ErrorCode] = {
    assignment.InvalidPartitions: ErrorCode.INVALID_PARTITIONS,
    assignment.InvalidReplicationFactor: ErrorCode.INVALID_REPLICATION_FACTOR,
    assignment.MissingRacks: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
}


def check_replicas(replicas: Sequence[int], live: Iterable[int], factor: int | None = None) -> list[int]:
    """One manual replica list (a new topic's partition, a new partition, a reassignment target):
    not empty, every broker registered, none twice, and ``factor`` replicas when given."""
    if not replicas:
        raise ControllerError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list."
        )
    registered = set(live)
    previous = None
    for broker in sorted(replicas):
        if broker not in registered:
            raise ControllerError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"The manual partition assignment includes broker {broker}, but no such broker is registered.",
            )
        if broker == previous:
            raise ControllerError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"The manual partition assignment includes the broker {broker} more than once.",
            )
        previous = broker
    if factor is not None and len(replicas) != factor:
        raise ControllerError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            f"The manual partition assignment includes a partition with {len(replicas)} replica(s), but this "
            f"is not consistent with previous partitions, which have {factor} replica(s).",
        )
    return list(replicas)


def check_manual_assignment(assignment: Mapping[int, Sequence[int]], live: Iterable[int]) -> list[list[int]]:
    """A new topic's manual assignment (partition -> brokers): each list valid, all of one
    replication factor, partitions numbered 0, 1, 2... Returns the replica lists in partition order."""
    registered = set(live)
    factor: int | None = None
    for replicas in assignment.values():
        check_replicas(replicas, registered, factor)
        factor = len(replicas)
    if sorted(assignment) != list(range(len(assignment))):
        raise ControllerError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partitions should be a consecutive 0-based integer sequence"
        )
    return [list(assignment[i]) for i in range(len(assignment))]

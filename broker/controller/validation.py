"""Validation of new topics and partitions shared by the embedded and the ZooKeeper controllers.

Pure functions over the broker's configs and the live brokers: they raise ``ControllerError`` with
Kafka's codes and messages, or return the replica assignment to create.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from broker.config import BrokerConfig
from broker.controller.api import EXCESSIVE_BATCH, MAX_PARTITIONS_PER_REQUEST
from broker.controller.assignment import BrokerRack, assign_replicas, check_manual_assignment, check_replicas
from broker.controller.errors import ControllerError
from protocol.errors import ErrorCode


def new_topic_replicas(
    config: BrokerConfig,
    brokers: list[BrokerRack],
    num_partitions: int,
    replication_factor: int,
    assignment: Mapping[int, Sequence[int]] | None,
) -> list[list[int]]:
    """A new topic's replica assignment (-1: the broker's defaults) over the live ``brokers``."""
    live = [b.id for b in brokers]
    if assignment:
        if replication_factor != -1:
            raise ControllerError(
                ErrorCode.INVALID_REQUEST,
                "A manual partition assignment was specified, but replication factor was not set to -1.",
            )
        if num_partitions != -1:
            raise ControllerError(
                ErrorCode.INVALID_REQUEST,
                "A manual partition assignment was specified, but numPartitions was not set to -1.",
            )
        return check_manual_assignment(assignment, live)
    if replication_factor < -1 or replication_factor == 0:
        raise ControllerError(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            "Replication factor must be larger than 0, or -1 to use the default value.",
        )
    if num_partitions < -1 or num_partitions == 0:
        raise ControllerError(
            ErrorCode.INVALID_PARTITIONS, "Number of partitions was set to an invalid non-positive value."
        )
    if num_partitions == -1:
        num_partitions = config.get("num.partitions")
    if replication_factor == -1:
        replication_factor = config.get("default.replication.factor")
    if num_partitions > MAX_PARTITIONS_PER_REQUEST:  # checked before anything is built
        raise ControllerError(ErrorCode.POLICY_VIOLATION, EXCESSIVE_BATCH)
    if replication_factor > len(live):
        raise ControllerError(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            f"Unable to replicate the partition {replication_factor} time(s): The target replication factor "
            f"of {replication_factor} cannot be reached because only {len(live)} broker(s) are registered.",
        )
    return assign_replicas(brokers, num_partitions, replication_factor)


def new_partition_replicas(
    name: str,
    current: Sequence[Sequence[int]],
    count: int,
    assignment: Sequence[Sequence[int]] | None,
    brokers: list[BrokerRack],
) -> list[list[int]]:
    """The replicas of the partitions that raise topic ``name`` with ``current`` replicas to ``count``."""
    if count < len(current):
        raise ControllerError(
            ErrorCode.INVALID_PARTITIONS,
            f"The topic {name} currently has {len(current)} partition(s); {count} would not be an increase.",
        )
    if count == len(current):
        raise ControllerError(ErrorCode.INVALID_PARTITIONS, f"Topic already has {len(current)} partition(s).")
    added = count - len(current)
    if added > MAX_PARTITIONS_PER_REQUEST:  # checked before anything is built
        raise ControllerError(ErrorCode.POLICY_VIOLATION, EXCESSIVE_BATCH)
    factor = len(current[0]) if current else 1
    live = [b.id for b in brokers]
    if assignment is not None:
        if len(assignment) != added:
            raise ControllerError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"Attempted to add {added} additional partition(s), but only {len(assignment)} assignment(s) "
                "were specified.",
            )
        return [check_replicas(replicas, live, factor) for replicas in assignment]
    # As Kafka's AdminZkClient: start at the broker of partition 0's first replica, continue the ids.
    first = current[0][0] if current else brokers[0].id
    start = max(0, next((i for i, b in enumerate(brokers) if b.id >= first), 0))
    return assign_replicas(brokers, added, factor, fixed_start_index=start, start_partition_id=len(current))

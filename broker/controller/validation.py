"""Validation of topic changes shared by the embedded and the ZooKeeper controllers.

Pure functions over the broker's configs, the topics there are and the live brokers, in the order
Kafka's AdminZkClient checks a creation (the name, then the assignment) or a deletion: they raise
``ControllerError`` with Kafka's codes and messages, or return the replica assignment to create.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from broker.config import BrokerConfig
from broker.controller.api import EXCESSIVE_BATCH, MAX_PARTITIONS_PER_REQUEST
from broker.controller.assignment import BrokerRack, assign_replicas, check_manual_assignment, check_replicas
from broker.controller.errors import ControllerError
from broker.topics import INTERNAL_TOPICS, InvalidTopic, validate_topic_name
from protocol.errors import ErrorCode

UNKNOWN_TOPIC = "This server does not host this topic."


def check_new_topic_name(name: str, existing: Collection[str], being_created: Collection[str]) -> None:
    """A new topic's name: legal, not taken by an ``existing`` topic or one ``being_created``, and not
    colliding with another (Kafka refuses names that differ only in '.' versus '_': their metric names
    would be the same)."""
    try:
        validate_topic_name(name)
    except InvalidTopic as exc:
        raise ControllerError(ErrorCode.INVALID_TOPIC_EXCEPTION, str(exc)) from None
    if name in existing:
        raise ControllerError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
    if name in being_created:
        raise ControllerError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' is being created.")
    folded = name.replace(".", "_")
    for other in existing:
        if other.replace(".", "_") == folded:
            raise ControllerError(
                ErrorCode.INVALID_TOPIC_EXCEPTION, f"Topic '{name}' collides with existing topic: {other}"
            )


def check_topic_deletion(config: BrokerConfig, name: str) -> None:
    """Whether topic ``name`` may be deleted at all (whether it exists is the controller's to tell)."""
    if not config.get("delete.topic.enable"):
        raise ControllerError(ErrorCode.TOPIC_DELETION_DISABLED, "Topic deletion is disabled.")
    if name in INTERNAL_TOPICS:
        raise ControllerError(
            ErrorCode.INVALID_REQUEST,
            f"Topic {name} is a kafka internal topic and is not allowed to be marked for deletion.",
        )


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

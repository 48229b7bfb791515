"""``Controller``: what the admin handlers ask of the cluster's controller, whichever mode runs.

The embedded controller (one broker, no ZooKeeper: ``broker.controller.embedded``) implements it now;
the ZooKeeper controller of cluster mode will too. Handlers read the cluster from the metadata cache
and change it only through this interface; operations raise ``ControllerError`` carrying the Kafka
error code to answer with. A change is visible in the metadata cache when its coroutine returns.

Validation comes first and changes nothing (``check_*``, and the ``validate_only`` paths), so a
``validate_only`` request answers exactly as the real one would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from broker.controller.errors import ControllerError

MAX_PARTITIONS_PER_REQUEST = 10_000
"""Kafka's controller refuses a CreateTopics whose topics add up to more partitions than this
(ReplicationControlManager.MAX_PARTITIONS_PER_BATCH) and a CreatePartitions adding more (its
MAX_RECORDS_PER_USER_OP), with POLICY_VIOLATION, before building anything."""

EXCESSIVE_CREATE_TOPICS = "Excessively large number of partitions per request."
EXCESSIVE_BATCH = "Unable to perform excessively large batch operation."


@dataclass(frozen=True, slots=True)
class OngoingReassignment:
    """A partition being reassigned: its full replica set, and the replicas being added and removed."""

    replicas: tuple[int, ...]
    adding: tuple[int, ...]
    removing: tuple[int, ...]


class Controller(Protocol):
    def is_being_created(self, name: str) -> bool:
        """True while a creation of topic ``name`` is under way (Metadata answers LEADER_NOT_AVAILABLE)."""
        ...

    def check_topic_name(self, name: str) -> None:
        """A new topic's name: legal, not taken, not colliding with another's."""
        ...

    def check_new_topic(
        self, name: str, num_partitions: int, replication_factor: int, assignment: Mapping[int, Sequence[int]] | None
    ) -> list[list[int]]:
        """Validate a topic to create (-1: the broker's defaults); returns its replica assignment."""
        ...

    async def create_topic(self, name: str, replicas: list[list[int]], configs: Mapping[str, Any]) -> bytes:
        """Create a topic validated by ``check_new_topic``; returns its topic id."""
        ...

    async def delete_topic(self, name: str) -> None: ...

    def check_new_partitions(
        self, name: str, count: int, assignment: Sequence[Sequence[int]] | None
    ) -> list[list[int]]:
        """Validate raising topic ``name`` to ``count`` partitions; returns the new ones' replicas."""
        ...

    async def create_partitions(self, name: str, count: int, assignment: Sequence[Sequence[int]] | None) -> None: ...

    async def alter_topic_configs(self, name: str, overrides: Mapping[str, Any], validate_only: bool) -> None:
        """Make ``overrides`` the topic's whole set of config overrides, after validating all of them."""
        ...

    async def alter_broker_configs(self, per_broker: bool, configs: Mapping[str, Any], validate_only: bool) -> None:
        """Make ``configs`` the whole set of dynamic configs of this broker (``per_broker``) or of the
        cluster default (DYNAMIC_DEFAULT_BROKER_CONFIG), after validating all of them."""
        ...

    def check_reassignment(self, name: str, partition: int, replicas: Sequence[int]) -> None:
        """Validate a reassignment target (AlterPartitionReassignments)."""
        ...

    async def alter_partition_reassignments(
        self, wanted: Mapping[tuple[str, int], Sequence[int] | None]
    ) -> dict[tuple[str, int], ControllerError | None]:
        """Start (a replica list) or cancel (None) reassignments; per partition a ``ControllerError`` or
        None (started). A ``ControllerError`` raised is the whole request's (NOT_CONTROLLER)."""
        ...

    async def list_partition_reassignments(
        self, wanted: Sequence[tuple[str, int]] | None
    ) -> dict[tuple[str, int], OngoingReassignment]:
        """The reassignments in progress (of ``wanted``, or all); a ``ControllerError`` raised is the
        whole request's (NOT_CONTROLLER)."""
        ...

    async def elect_leaders(
        self, preferred: bool, partitions: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], ControllerError | None]:
        """Elect leaders of ``partitions`` (preferred or unclean); per partition a ``ControllerError``
        or None (elected)."""
        ...

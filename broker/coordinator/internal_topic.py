"""A coordinator's internal topic on this broker (``__consumer_offsets``, ``__transaction_state``): what
the group coordinator's ``OffsetsTopic`` and the transaction coordinator's ``TransactionLog`` share.

- The number of partitions is the existing topic's, whatever the config now says; the configured one
  until it exists. ``leader_epoch(index)`` is the partition's leader epoch while this broker leads it
  (the coordinator epoch), ``led_partitions`` every such partition; ``is_empty(index)``: a partition
  this broker does not host, or with no records.
- Creation on first use, as Kafka's brokers create internal topics (``replication_factor``): in
  cluster mode not while fewer brokers are alive than the configured replication factor (Kafka's error
  logged once per broker count), so a cluster still starting cannot end up with a smaller factor for
  good; a single broker (no ZooKeeper) caps the factor at what one broker can have (1), so the
  defaults work there. ``create`` asks the controller and is True once the topic exists; a concurrent
  creator's TOPIC_ALREADY_EXISTS or a failure (logged) is False, "not ready yet", which coordinators
  answer as COORDINATOR_NOT_AVAILABLE. ``creating`` is True while a creation of ours or the
  controller's is in flight.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from broker.controller.api import Controller
from broker.controller.errors import ControllerError
from broker.metadata_cache import MetadataCache
from broker.replica_manager import ReplicaManager
from protocol.errors import ErrorCode

log = logging.getLogger(__name__)


class InternalTopic:
    def __init__(
        self,
        name: str,
        partitions: int,
        replication_factor: int,
        metadata: MetadataCache,
        controller: Controller,
        replicas: ReplicaManager,
        cluster: bool,
        described_as: tuple[str, str],
    ) -> None:
        """``partitions`` and ``replication_factor``: the configured ones; ``described_as``: what Kafka's
        log line calls the topic and the config that sets its replication factor."""
        self.name = name
        self.configured_partitions = partitions
        self.configured_replication_factor = replication_factor
        self.metadata = metadata
        self.controller = controller
        self.replicas = replicas
        self.cluster = cluster
        self._described_as = described_as
        self._creating = False  # a creation of ours is in flight (``create`` runs)
        self._short_of_brokers = -1  # the live broker count last logged as too few

    def partition_count(self) -> int:
        count = self.metadata.num_partitions(self.name)
        return count if count is not None else self.configured_partitions

    def exists(self) -> bool:
        return self.metadata.topic(self.name) is not None

    def creating(self) -> bool:
        return self._creating or self.controller.is_being_created(self.name)

    def leader_epoch(self, index: int) -> int | None:
        """The leader epoch of partition ``index`` if this broker leads it (the coordinator epoch)."""
        partition = self.replicas.get_partition(self.name, index)
        if partition is None or not partition.is_leader(self.replicas.node_id):
            return None
        return partition.leader_epoch

    def led_partitions(self) -> list[tuple[int, int]]:
        """Each partition this broker leads, with its leader epoch (none while the topic does not exist)."""
        if not self.exists():
            return []
        led = ((index, self.leader_epoch(index)) for index in range(self.partition_count()))
        return [(index, epoch) for index, epoch in led if epoch is not None]

    def is_empty(self, index: int) -> bool:
        partition = self.replicas.get_partition(self.name, index)
        return partition is None or partition.log.log_end_offset <= partition.log.log_start_offset

    def replication_factor(self) -> int | None:
        """The factor to create the topic with now; None (logged) while a cluster has too few brokers."""
        alive = len(self.metadata.alive_brokers())
        factor = self.configured_replication_factor
        if not self.cluster:
            return min(factor, alive)
        if alive < factor:
            if alive != self._short_of_brokers:
                self._short_of_brokers = alive
                what, config = self._described_as
                log.error(
                    "Number of alive brokers '%d' does not meet the required replication factor '%d' for the "
                    "%s (configured via '%s'). This error can be ignored if the cluster is starting up and not "
                    "all brokers are up yet.",
                    alive, factor, what, config,
                )  # fmt: skip
            return None
        return factor

    async def create(self, factor: int, configs: Mapping[str, object]) -> bool:
        """Create the topic with ``factor`` replicas and ``configs``; True once it exists."""
        self._creating = True
        try:
            replicas = self.controller.check_new_topic(self.name, self.configured_partitions, factor, None)
            await self.controller.create_topic(self.name, replicas, configs)
        except ControllerError as exc:
            if exc.code is not ErrorCode.TOPIC_ALREADY_EXISTS:  # a concurrent creation: ready on a retry
                log.error("cannot create %s: %s", self.name, exc.message)
            return False
        finally:
            self._creating = False
        return True

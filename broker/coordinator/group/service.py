"""The group coordinator as the broker runs it: the offsets topic, the event-loop clock, load and retention.

    service = GroupService(config, metadata_cache, controller, replica_manager)
    service.start()        # replays __consumer_offsets; call with the event loop running
    service.coordinator    # what the group and offset handlers call
    service.shutdown()

This broker leads every partition of ``__consumer_offsets``, so it coordinates every group; with a
cluster, a broker coordinates the groups whose partition it leads (``partition_for``).
"""

from __future__ import annotations

import asyncio
import logging

from broker.config import BrokerConfig
from broker.controller.api import Controller
from broker.coordinator.group.config import GroupConfig
from broker.coordinator.group.coordinator import GroupCoordinator
from broker.coordinator.group.store import OffsetsTopic
from broker.coordinator.group.timers import LoopScheduler, Timer
from broker.metadata_cache import MetadataCache
from broker.replica_manager import ReplicaManager

log = logging.getLogger(__name__)


class GroupService:
    def __init__(
        self, config: BrokerConfig, metadata: MetadataCache, controller: Controller, replicas: ReplicaManager
    ) -> None:
        self.config = GroupConfig.from_broker(config)
        self.offsets_topic = OffsetsTopic(self.config, metadata, controller, replicas)
        self.metadata = metadata
        self.coordinator: GroupCoordinator
        self._retention: Timer | None = None

    def start(self) -> None:
        scheduler = LoopScheduler(asyncio.get_running_loop())
        self.coordinator = GroupCoordinator(self.config, scheduler, self.offsets_topic, self._partition_counts)
        self.coordinator.load(self.offsets_topic.replay())
        self._schedule_retention()

    def _partition_counts(self) -> dict[str, int]:
        """Every topic a consumer group may subscribe to (internal topics are not), with its partition count."""
        return {name: len(t.partitions) for name, t in self.metadata.topics.items() if not t.is_internal}

    def _schedule_retention(self) -> None:
        def check() -> None:
            try:
                self.coordinator.expire_offsets()
            except Exception:
                log.exception("offset retention check failed")
            self._schedule_retention()

        interval = self.config.offsets_retention_check_interval_ms
        self._retention = self.coordinator.scheduler.call_later(interval, check)

    def shutdown(self) -> None:
        self.offsets_topic.shutdown()
        if self._retention is not None:
            self._retention.cancel()
        for group in list(self.coordinator.groups.values()):
            self.coordinator.cancel_group_timers(group)
        for consumer_group in list(self.coordinator.consumer.groups.values()):
            self.coordinator.consumer.cancel_group_timers(consumer_group)

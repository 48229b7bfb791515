"""The group coordinator as the broker runs it: the offsets topic, the event-loop clock, load and retention.

    service = GroupService(config, metadata_cache, controller, replica_manager, cluster=in_cluster_mode)
    await service.start()   # elects (and loads) every __consumer_offsets partition this broker leads
    service.coordinator     # what the group and offset handlers call
    service.on_elected(partition, leader_epoch) / service.on_resigned(partition, leader_epoch)
    service.shutdown()

A broker coordinates the groups of the ``__consumer_offsets`` partitions it leads (``partition_for``).
``on_elected`` loads a partition's groups from its log a slice at a time (``offsets.load.buffer.size``
bytes), yielding to the loop between slices, and installs them in one step; meanwhile its groups get
COORDINATOR_LOAD_IN_PROGRESS. ``on_resigned`` drops them; NOT_COORDINATOR afterwards. Leader epochs
order the two: a stale election or resignation is ignored, and a load that a newer election or a
resignation overtook is abandoned. On one broker, start-up and the topic's creation elect every
partition (a new, empty partition is installed at once, so its first clients never see the load).
"""

from __future__ import annotations

import asyncio
import logging

from broker.config import BrokerConfig
from broker.controller.api import Controller
from broker.coordinator.group.config import GroupConfig
from broker.coordinator.group.coordinator import GroupCoordinator
from broker.coordinator.group.loading import Replay
from broker.coordinator.group.ownership import Ownership
from broker.coordinator.group.store import OFFSETS_TOPIC, OffsetsTopic
from broker.coordinator.group.timers import LoopScheduler, Timer
from broker.coordinator.loads import PartitionLoads
from broker.metadata_cache import MetadataCache
from broker.replica_manager import ReplicaManager
from storage.errors import StorageError

log = logging.getLogger(__name__)


class GroupService:
    def __init__(
        self,
        config: BrokerConfig,
        metadata: MetadataCache,
        controller: Controller,
        replicas: ReplicaManager,
        cluster: bool = False,
    ) -> None:
        self.config = GroupConfig.from_broker(config)
        self.offsets_topic = OffsetsTopic(self.config, metadata, controller, replicas, cluster=cluster)
        self.offsets_topic.on_created = self.elect_led_partitions
        self.metadata = metadata
        self.replicas = replicas
        self.ownership = Ownership(self.offsets_topic.partition_for, self.offsets_topic.exists, self.elect_if_led)
        self.coordinator: GroupCoordinator
        self._retention: Timer | None = None
        self._loads = PartitionLoads(OFFSETS_TOPIC)

    async def start(self) -> None:
        """Elect every partition this broker leads and wait for their loads (call with the loop running)."""
        scheduler = LoopScheduler(asyncio.get_running_loop())
        self.coordinator = GroupCoordinator(
            self.config, scheduler, self.offsets_topic, self._partition_counts, self.ownership
        )
        self.elect_led_partitions()
        await self.wait_for_loads()
        self._schedule_retention()

    def elect_led_partitions(self) -> None:
        """``on_elected`` for every partition of ``__consumer_offsets`` this broker leads."""
        for index, leader_epoch in self.offsets_topic.led_partitions():
            self.on_elected(index, leader_epoch)

    def elect_if_led(self, index: int) -> None:
        """``on_elected`` for partition ``index`` if this broker leads it (no-op if already elected)."""
        if (leader_epoch := self.offsets_topic.leader_epoch(index)) is not None:
            self.on_elected(index, leader_epoch)

    async def wait_for_loads(self) -> None:
        await self._loads.wait()

    # -- leadership --------------------------------------------------------------------------------
    def on_elected(self, partition: int, leader_epoch: int) -> None:
        """This broker now leads ``__consumer_offsets`` partition ``partition``: load its groups."""
        if not self.ownership.begin_load(partition, leader_epoch):
            return
        if self.offsets_topic.is_empty(partition):  # nothing to read: owned at once
            self._install(partition, leader_epoch, Replay())
            return
        self._loads.start(partition, self._load(partition, leader_epoch))

    def on_resigned(self, partition: int, leader_epoch: int) -> None:
        """Another broker leads ``partition`` from ``leader_epoch`` on: drop its groups."""
        if not self.ownership.resign(partition, leader_epoch):
            log.info("%s-%d: resignation at stale epoch %d ignored", OFFSETS_TOPIC, partition, leader_epoch)
            return
        self.coordinator.unload_partition(partition)

    async def _load(self, partition: int, epoch: int) -> None:
        replay = Replay()
        started = asyncio.get_running_loop().time()
        try:
            for records in self.offsets_topic.read_slices(partition):
                for record in records:
                    replay.add(record)
                await asyncio.sleep(0)  # one slice per step: other clients go on meanwhile
                if not self.ownership.is_loading(partition, epoch):
                    log.info("%s-%d: load at epoch %d abandoned", OFFSETS_TOPIC, partition, epoch)
                    return
        except StorageError as exc:  # as Kafka: logged, and the partition is owned with what was read
            log.error("%s-%d: loading failed at epoch %d: %s", OFFSETS_TOPIC, partition, epoch, exc)
        self._install(partition, epoch, replay)
        took = asyncio.get_running_loop().time() - started
        log.info("%s-%d: loaded at epoch %d in %.3fs", OFFSETS_TOPIC, partition, epoch, took)

    def _install(self, partition: int, epoch: int, replay: Replay) -> None:
        if self.ownership.finish_load(partition, epoch):
            self.coordinator.install(replay)

    # -- retention ---------------------------------------------------------------------------------
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
        self._loads.cancel()
        if self._retention is not None:
            self._retention.cancel()
        for group in list(self.coordinator.groups.values()):
            self.coordinator.cancel_group_timers(group)
        for consumer_group in list(self.coordinator.consumer.groups.values()):
            self.coordinator.consumer.cancel_group_timers(consumer_group)

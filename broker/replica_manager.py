"""The partitions this broker hosts, and the purgatories their delayed requests wait in.

Handlers find partitions here; appends notify the fetch purgatory so long-polling fetches wake at
once. Partition logs come from storage's ``LogManager``; topic configs are the broker's registry
(``broker.config``) resolved for each topic, so broker-level defaults apply unless overridden.
"""

from __future__ import annotations

import asyncio
import uuid

from broker.config import BrokerConfig
from broker.partition import Partition
from broker.purgatory import Purgatory
from broker.topics import TopicMetadata
from storage.config import LogConfig
from storage.manager import LogManager


class ReplicaManager:
    def __init__(self, node_id: int, config: BrokerConfig, log_manager: LogManager) -> None:
        self.node_id = node_id
        self.config = config
        self.log_manager = log_manager
        self.partitions: dict[tuple[str, int], Partition] = {}
        self.fetch_purgatory = Purgatory("fetch")
        self.produce_purgatory = Purgatory("produce")

    def log_config(self, topic: TopicMetadata) -> LogConfig:
        return LogConfig.from_props(self.config.topic_values(topic.configs))

    def get_partition(self, topic: str, index: int) -> Partition | None:
        return self.partitions.get((topic, index))

    def become_leader(self, topic: TopicMetadata, index: int) -> Partition:
        """Host ``topic``'s partition ``index`` as its leader (creating its log if new)."""
        log = self.log_manager.get_or_create_log(
            topic.name, index, self.log_config(topic), uuid.UUID(bytes=topic.topic_id)
        )
        replicas = topic.replicas[index]
        partition = Partition(
            topic=topic.name,
            index=index,
            topic_id=topic.topic_id,
            log=log,
            leader_id=self.node_id,
            leader_epoch=topic.leader_epochs[index],
            replicas=list(replicas),
            isr=[r for r in replicas if r == self.node_id] or [self.node_id],
        )
        partition.maybe_advance_high_watermark()
        self.partitions[(topic.name, index)] = partition
        return partition

    def update_config(self, topic: TopicMetadata) -> None:
        config = self.log_config(topic)
        for index in range(topic.partitions):
            partition = self.partitions.get((topic.name, index))
            if partition is not None:
                partition.log.update_config(config)

    def remove_partition(self, topic: str, index: int, delete: bool) -> None:
        partition = self.partitions.pop((topic, index), None)
        if delete:
            self.log_manager.delete_log(topic, index)
        elif partition is not None:
            partition.log.close()
        self.fetch_purgatory.notify((topic, index))

    def on_append(self, partition: Partition) -> None:
        """Wake fetches (and acks=all produces) waiting on ``partition``."""
        self.fetch_purgatory.notify(partition.key)
        self.produce_purgatory.notify(partition.key)

    def on_high_watermark_change(self, partition: Partition) -> None:
        """Replication moved ``partition``'s HW: acks=all produces and read_committed fetches may complete."""
        self.on_append(partition)

    async def wait_for_acks(self, required: list[tuple[Partition, int]], timeout_ms: int) -> list[bool | None]:
        """The acks=all wait (Kafka's DelayedProduce): until each partition's HW reaches its required
        offset (the appended batch's last offset + 1) or ``timeout_ms`` passes. Per entry: True when
        acknowledged, False when the HW got there but the ISR shrank below min.insync.replicas, None
        when it timed out. With an ISR of one the HW has already moved, so nothing waits."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout_ms, 0) / 1000
        while True:
            status = [p.has_enough_replicas_at(offset) for p, offset in required]
            waiting = [p.key for (p, _), s in zip(required, status, strict=True) if s is None]
            remaining = deadline - loop.time()
            if not waiting or remaining <= 0:
                return status
            await self.produce_purgatory.wait(waiting, remaining)

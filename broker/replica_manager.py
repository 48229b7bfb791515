"""The partitions this broker hosts, and the purgatories their delayed requests wait in.

Handlers find partitions here; appends notify the fetch purgatory so long-polling fetches wake at
once. New partitions are hosted in two steps: ``prepare_leaders`` makes their logs in worker threads
(invisible meanwhile), then ``lead`` hosts them on the loop in one step, so creating many partitions
neither stalls the event loop nor shows half a topic. Partition logs come from storage's
``LogManager``; topic configs are the broker's registry (``broker.config``) resolved for each topic,
so broker-level defaults apply unless overridden.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from broker.config import BrokerConfig
from broker.partition import NotEnoughReplicas, Partition
from broker.purgatory import Purgatory
from broker.topics import TopicMetadata
from storage.config import LogConfig
from storage.errors import StorageError
from storage.log.log import Log
from storage.log.results import LogAppendInfo
from storage.manager import LogManager, NewLog, PlannedLog

CREATE_THREADS = 8
"""New logs are made by up to this many worker threads at once: most of the time is fsync and file
creation, which overlap well (ext4 groups concurrent fsyncs into one journal commit)."""


@dataclass(slots=True)
class PreparedLeaders:
    """Partitions whose logs exist on disk but are not hosted yet (``ReplicaManager.prepare_leaders``)."""

    topic: str
    indexes: list[int]
    plans: list[PlannedLog]
    created: list[Log]
    existing: dict[int, Log]


@dataclass(slots=True)
class AppendResult:
    """One partition's outcome of ``append_records``: the append's info, or the exception that stopped it."""

    info: LogAppendInfo | None
    error: BaseException | None


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

    def become_leader(self, topic: TopicMetadata, index: int, config: LogConfig | None = None) -> Partition:
        """Host ``topic``'s partition ``index`` as its leader (creating its log if new). Blocking disk
        work for a new log: on the request path use ``prepare_leaders`` and ``lead`` instead."""
        log = self.log_manager.get_or_create_log(
            topic.name,
            index,
            config or self.log_config(topic),
            uuid.UUID(bytes=topic.topic_id),
            leader_epoch=_epoch(topic, index),
        )
        return self._host(topic, index, log)

    def _host(self, topic: TopicMetadata, index: int, log: Log) -> Partition:
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

    async def prepare_leaders(self, topic: TopicMetadata, indexes: range) -> PreparedLeaders:
        """Create the logs of ``topic``'s partitions ``indexes`` in worker threads (the event loop goes
        on meanwhile); nothing is visible until ``lead``. Logs that exist already are reused, as
        ``become_leader`` does. All or nothing: raises StorageError (LogOffline) having removed the
        logs it made. Only ``topic``'s name, id and configs are read here."""
        config = self.log_config(topic)
        topic_id = uuid.UUID(bytes=topic.topic_id)
        existing: dict[int, Log] = {}
        wanted: list[NewLog] = []
        for index in indexes:
            log = self.log_manager.get_log(topic.name, index)
            if log is not None:
                existing[index] = log
            else:
                wanted.append(NewLog(topic.name, index, config, topic_id, _epoch(topic, index)))
        plans = self.log_manager.plan_new_logs(wanted)
        step = -(-len(plans) // CREATE_THREADS) if plans else 1
        chunks = [plans[i : i + step] for i in range(0, len(plans), step)]
        results = await asyncio.gather(
            *(asyncio.to_thread(self.log_manager.create_new_logs, chunk) for chunk in chunks), return_exceptions=True
        )
        made = [log for r in results if isinstance(r, list) for log in r]
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            await asyncio.to_thread(self.log_manager.discard_new_logs, made)
            raise failed[0]
        return PreparedLeaders(topic.name, list(indexes), plans, made, existing)

    def lead(self, topic: TopicMetadata, prepared: PreparedLeaders) -> list[Partition]:
        """Host the prepared partitions (``topic`` must now list them). No await: one step."""
        self.log_manager.add_new_logs(prepared.plans, prepared.created)
        logs = dict(prepared.existing)
        for plan, log in zip(prepared.plans, prepared.created, strict=True):
            logs[plan.new.partition] = log
        config = self.log_config(topic)
        out = []
        for index in prepared.indexes:
            log = logs[index]
            log.update_config(config)  # configs may have changed while the logs were made
            out.append(self._host(topic, index, log))
        return out

    def discard(self, prepared: PreparedLeaders) -> None:
        """Remove the logs ``prepare_leaders`` made, when they will not be led after all."""
        self.log_manager.discard_new_logs(prepared.created)

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

    async def append_records(
        self,
        entries: Mapping[tuple[str, int], bytes | bytearray | memoryview],
        *,
        required_acks: int,
        timeout_ms: int,
        internal: bool = False,
    ) -> dict[tuple[str, int], AppendResult]:
        """SHIM (the coordinator's branch only): append to each partition this broker leads, then wait
        for acks=all. The data path's real implementation replaces it."""
        results: dict[tuple[str, int], AppendResult] = {}
        waiting: list[tuple[tuple[str, int], Partition, int]] = []
        for key, records in entries.items():
            partition = self.partitions.get(key)
            if partition is None or not partition.is_leader(self.node_id):
                results[key] = AppendResult(None, KeyError(f"{key[0]}-{key[1]} is not led by this broker"))
                continue
            try:
                info = partition.append_as_leader(records, required_acks)
            except (StorageError, NotEnoughReplicas) as exc:
                results[key] = AppendResult(None, exc)
                continue
            results[key] = AppendResult(info, None)
            self.on_append(partition)
            if required_acks == -1 and info.first_offset >= 0:
                waiting.append((key, partition, info.last_offset + 1))
        if waiting:
            outcomes = await self.wait_for_acks([(p, offset) for _, p, offset in waiting], timeout_ms)
            for (key, _, _), outcome in zip(waiting, outcomes, strict=True):
                if outcome is None:
                    results[key] = AppendResult(None, TimeoutError(f"{key[0]}-{key[1]}: acks=all timed out"))
                elif outcome is False:
                    results[key] = AppendResult(None, NotEnoughReplicas(f"{key[0]}-{key[1]}: ISR shrank"))
        return results


def _epoch(topic: TopicMetadata, index: int) -> int:
    """The leader epoch of ``topic``'s partition ``index`` (0 for one not yet in the metadata)."""
    return topic.leader_epochs[index] if index < len(topic.leader_epochs) else 0

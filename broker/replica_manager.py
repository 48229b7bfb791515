"""ReplicaManager: the partitions this broker hosts, and THE data path (Kafka's ``ReplicaManager``).

- ``append_records``: the one entry point for appends (produce handlers, coordinators): per partition
  it finds the leader, validates the records (``storage.log._validate``), appends, wakes the fetches
  and produces waiting on the partition, and for acks=all waits in the produce purgatory until the
  high watermark passes the batch (``broker.delayed.DelayedProduce``) or ``timeout_ms`` passes.
- ``fetch_messages``: the one entry point for reads: up to the HW (read_uncommitted), the LSO
  (read_committed) or the log end offset (followers), within ``max_bytes`` and each partition's
  limit, long-polling in the fetch purgatory for ``min_bytes`` up to ``max_wait_ms``. A follower's
  fetch moves its log end offset on the leader, and so maybe the HW, which completes waiting
  produces and fetches.
- Hosting: ``become_leader``; ``prepare_leaders`` makes new logs in worker threads (invisible
  meanwhile), then ``lead`` hosts them in one step, so creating many partitions neither stalls the
  event loop nor shows half a topic. Topic configs are the broker's registry (``broker.config``)
  resolved for each topic.

Invariants:
- Results are per partition: a partition's failure (a storage or replica exception, in the
  result, never raised) does not touch the others. Only handlers turn exceptions into error codes.
- Appends to one partition happen in the order their requests arrived. Records that need decoding
  (compacted topics, legacy formats) beyond ``INLINE_DECODE_RECORDS`` are validated in a worker
  thread; later appends to that partition queue behind them, appends to others go on. Ordinary
  batches stay opaque and are appended in the request's first step, with no await.
- Reads and the answer built from them happen in one step (no await between), so file regions are
  current when the connection opens them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from broker.config import BrokerConfig
from broker.delayed import (
    DelayedFetch,
    DelayedProduce,
    FetchParams,
    FetchPartitionResult,
    FetchPartitionSpec,
    fetch_is_complete,
)
from broker.partition import (
    READ_COMMITTED,
    AlterIsr,
    NotLeaderOrFollower,
    Partition,
    ReplicaError,
    UnknownTopicOrPartition,
)
from broker.purgatory import Purgatory
from broker.replication.quota import ReplicationQuota
from broker.topics import INTERNAL_TOPICS, InvalidTopic, TopicMetadata, validate_topic_name
from storage.config import LogConfig
from storage.errors import StorageError
from storage.log._validate import decoding_cost, validate_client_records
from storage.log.log import Log
from storage.log.results import FetchDataInfo, LogAppendInfo
from storage.manager import LogManager, NewLog, PlannedLog
from storage.producer.state import AppendOrigin

Buffer = bytes | bytearray | memoryview
TopicPartition = tuple[str, int]

CREATE_THREADS = 8
"""New logs are made by up to this many worker threads at once: most of the time is fsync and file
creation, which overlap well (ext4 groups concurrent fsyncs into one journal commit)."""

INLINE_DECODE_RECORDS = 2000
"""Records that need decoding (compacted topics, legacy formats) are validated on the event loop up to
this many per partition (well under a millisecond); beyond it, in a worker thread."""

VALID_ACKS = (-1, 0, 1)

APPEND_ERRORS = (StorageError, ReplicaError, InvalidTopic)
"""What an append may fail with for one partition (in its ``AppendResult``); anything else is a bug."""


class InvalidRequiredAcks(ReplicaError):
    """acks other than -1, 0 or 1 (INVALID_REQUIRED_ACKS)."""


class AppendResult(NamedTuple):
    """One partition's outcome. ``info`` is the append's (offsets; for an error after the partition
    was found, offsets -1 with its log start offset; None when there is no such partition here);
    ``error`` a storage or replica exception (RequestTimedOut and NotEnoughReplicasAfterAppend come
    with the append's info: the records are in the leader's log)."""

    info: LogAppendInfo | None
    error: BaseException | None


class ReplicaFetchers(Protocol):
    """The followers' fetching (``broker.replication.ReplicaFetcherManager``): told which partitions
    to fetch and from which leader as LeaderAndIsr and StopReplica change them."""

    def add_partition(self, partition: Partition) -> None: ...

    def remove_partition(self, key: TopicPartition) -> None: ...


class TopicLookup(Protocol):
    """The cluster's metadata (``MetadataCache``), to tell an unknown partition from one led elsewhere."""

    def contains_partition(self, name: str, index: int) -> bool: ...


@dataclass(slots=True)
class PreparedLeaders:
    """Partitions whose logs exist on disk but are not hosted yet (``ReplicaManager.prepare_leaders``)."""

    topic: str
    indexes: list[int]
    plans: list[PlannedLog]
    created: list[Log]
    existing: dict[int, Log]


class ReplicaManager:
    def __init__(
        self, node_id: int, config: BrokerConfig, log_manager: LogManager, topics: TopicLookup | None = None
    ) -> None:
        self.node_id = node_id
        self.config = config
        self.log_manager = log_manager
        self.topics = topics
        self.partitions: dict[TopicPartition, Partition] = {}
        self.fetch_purgatory: Purgatory[None] = Purgatory("fetch")
        self.produce_purgatory: Purgatory[dict[TopicPartition, BaseException | None]] = Purgatory("produce")
        self._append_tails: dict[TopicPartition, asyncio.Future[None]] = {}
        self.alter_isr: AlterIsr | None = None  # cluster mode: ISR changes go to the controller
        self.fetchers: ReplicaFetchers | None = None  # cluster mode: the followers' fetching
        self.leader_quota: ReplicationQuota | None = None  # leader.replication.throttled.rate

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
            local_id=self.node_id,
            alter_isr=self.alter_isr,
        )
        if len(replicas) <= 1:  # a replicated one's HW waits for its role (LeaderAndIsr) and followers
            partition.maybe_advance_high_watermark()
        self.partitions[(topic.name, index)] = partition
        return partition

    async def prepare_leaders(self, topic: TopicMetadata, indexes: Sequence[int]) -> PreparedLeaders:
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
        if partition is not None:
            partition.stop_serving()  # produces waiting for acks end now with NOT_LEADER_OR_FOLLOWER
        if self.fetchers is not None:
            self.fetchers.remove_partition((topic, index))
        if delete:
            self.log_manager.delete_log(topic, index)
        elif partition is not None:
            partition.log.close()
        self.fetch_purgatory.check_and_complete((topic, index))
        self.produce_purgatory.check_and_complete((topic, index))

    def make_leader(
        self,
        topic: str,
        index: int,
        leader_epoch: int,
        isr: list[int],
        replicas: list[int],
        partition_epoch: int | None = None,
    ) -> Partition:
        """LeaderAndIsr for a hosted partition: lead it from ``leader_epoch`` with ``isr`` (committed at
        ``partition_epoch``). Waiting requests are checked again (the HW may move, the epoch changed)."""
        partition = self.get_partition_or_exception(topic, index)
        if self.fetchers is not None:
            self.fetchers.remove_partition(partition.key)
        partition.make_leader(leader_epoch, isr, replicas, partition_epoch=partition_epoch)
        # Kafka's leader records its epoch's start at once, so a follower's OffsetForLeaderEpoch (or a
        # fetch's last fetched epoch) from an epoch this log never saw finds where they diverge.
        partition.log.epoch_cache.assign(leader_epoch, partition.log_end_offset)
        self.on_high_watermark_change(partition)
        return partition

    def make_follower(
        self, topic: str, index: int, leader_id: int, leader_epoch: int, replicas: list[int]
    ) -> Partition:
        """LeaderAndIsr for a hosted partition: follow ``leader_id``. Fetches and acks=all produces
        waiting on it complete at once with NOT_LEADER_OR_FOLLOWER, so their clients go to the new
        leader. The replica fetchers start over for it (truncation first, from the new epoch)."""
        partition = self.get_partition_or_exception(topic, index)
        partition.make_follower(leader_id, leader_epoch, replicas)
        if self.fetchers is not None:
            self.fetchers.remove_partition(partition.key)
            if leader_id >= 0:
                self.fetchers.add_partition(partition)
        self.on_high_watermark_change(partition)
        return partition

    # -- finding partitions ---------------------------------------------------------------------
    def get_partition_or_exception(self, topic: str, index: int) -> Partition:
        """The hosted partition; else NotLeaderOrFollower for a partition the cluster knows (led
        elsewhere, or not hosted yet) and UnknownTopicOrPartition for one it does not."""
        partition = self.partitions.get((topic, index))
        if partition is not None:
            return partition
        if self.topics is not None and self.topics.contains_partition(topic, index):
            raise NotLeaderOrFollower(f"{topic}-{index} is not hosted by broker {self.node_id}")
        raise UnknownTopicOrPartition(f"{topic}-{index}")

    def leader_partition(self, topic: str, index: int) -> Partition:
        """The partition if this broker leads it; else a ReplicaError (see ``get_partition_or_exception``)."""
        partition = self.get_partition_or_exception(topic, index)
        if not partition.is_leader(self.node_id):
            raise NotLeaderOrFollower(f"{topic}-{index}: broker {self.node_id} is not the leader")
        return partition

    def _leader_for_append(self, key: TopicPartition, internal: bool) -> Partition:
        topic, index = key
        validate_topic_name(topic)
        partition = self.leader_partition(topic, index)
        if topic in INTERNAL_TOPICS and not internal:
            raise InvalidTopic(f"Cannot append to internal topic {topic}")
        return partition

    # -- appends ------------------------------------------------------------------------------------
    async def append_records(
        self,
        entries: Mapping[TopicPartition, Buffer],
        *,
        required_acks: int,
        timeout_ms: int,
        internal: bool = False,
        origin: AppendOrigin = AppendOrigin.CLIENT,
    ) -> dict[TopicPartition, AppendResult]:
        """Append each partition's records as its leader; per partition, the outcome (never raises for
        one partition's failure). acks 0 and 1 return once appended; acks -1 (all) once the high
        watermark passes every appended batch, or after ``timeout_ms`` (RequestTimedOut for those
        still waiting). ``internal`` allows writes to internal topics (``__consumer_offsets``).
        ``origin`` is CLIENT for produce requests (control batches refused, sequences checked) and
        COORDINATOR for the coordinators (transaction markers, transactional offset commits)."""
        if required_acks not in VALID_ACKS:
            error = InvalidRequiredAcks(f"acks must be -1, 0 or 1, not {required_acks}")
            return {key: AppendResult(None, error) for key in entries}
        results: dict[TopicPartition, AppendResult] = {}
        in_turn: list[asyncio.Task[None]] = []
        for key, records in entries.items():
            try:
                partition = self._leader_for_append(key, internal)
                offload = decoding_cost(records, partition.config) > INLINE_DECODE_RECORDS
            except APPEND_ERRORS as exc:
                results[key] = AppendResult(None, exc)
                continue
            if offload or key in self._append_tails:
                in_turn.append(
                    self._take_turn(key, partition, records, required_acks, internal, offload, results, origin)
                )
            else:
                results[key] = self._append_now(partition, records, required_acks, validated=False, origin=origin)
        if in_turn:
            await asyncio.gather(*in_turn)
            results = {key: results[key] for key in entries}
        if required_acks == -1:
            await self._wait_for_acks(results, timeout_ms)
        return results

    def _append_now(
        self,
        partition: Partition,
        records: Buffer,
        required_acks: int,
        validated: bool,
        origin: AppendOrigin = AppendOrigin.CLIENT,
    ) -> AppendResult:
        """Validate (unless done already) and append, then wake whoever waits on the partition. No await."""
        try:
            if not validated:
                records = validate_client_records(records, partition.config, partition.name)
            hw_before = partition.high_watermark
            info = partition.append_as_leader(records, required_acks, origin)
        except APPEND_ERRORS as exc:
            return AppendResult(LogAppendInfo(-1, -1, -1, partition.log_start_offset, -1, -1, 0, 0), exc)
        self._after_append(partition, partition.high_watermark != hw_before)
        return AppendResult(info, None)

    def _take_turn(
        self,
        key: TopicPartition,
        partition: Partition,
        records: Buffer,
        required_acks: int,
        internal: bool,
        offload: bool,
        results: dict[TopicPartition, AppendResult],
        origin: AppendOrigin,
    ) -> asyncio.Task[None]:
        """Queue an append behind the earlier ones to ``key``, now (before any other request runs),
        and start it; its turn passes on however its task ends."""
        before = self._append_tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._append_tails[key] = mine
        task = asyncio.ensure_future(
            self._append_in_turn(key, partition, records, required_acks, internal, offload, results, before, origin)
        )
        task.add_done_callback(lambda _: self._release_turn(key, mine, before))
        return task

    async def _append_in_turn(
        self,
        key: TopicPartition,
        partition: Partition,
        records: Buffer,
        required_acks: int,
        internal: bool,
        offload: bool,
        results: dict[TopicPartition, AppendResult],
        before: asyncio.Future[None] | None,
        origin: AppendOrigin,
    ) -> None:
        """Validate in a worker thread (if ``offload``), then append once the appends to ``key`` that
        arrived before this one are done."""
        try:
            if offload:
                records = await asyncio.to_thread(validate_client_records, records, partition.config, partition.name)
        except APPEND_ERRORS as exc:
            results[key] = AppendResult(LogAppendInfo(-1, -1, -1, partition.log_start_offset, -1, -1, 0, 0), exc)
            return
        if before is not None and not before.done():
            await asyncio.wait([before])
        try:
            partition = self._leader_for_append(key, internal)  # it may have changed meanwhile
        except APPEND_ERRORS as exc:
            results[key] = AppendResult(None, exc)
            return
        results[key] = self._append_now(partition, records, required_acks, validated=offload, origin=origin)

    def _release_turn(
        self, key: TopicPartition, mine: asyncio.Future[None], before: asyncio.Future[None] | None
    ) -> None:
        """The next append to ``key`` may go once this one and every earlier one are done (this one
        may end early, cancelled: then its turn passes when the one before it is done)."""

        def release(_: object = None) -> None:
            if not mine.done():
                mine.set_result(None)
            if self._append_tails.get(key) is mine:
                del self._append_tails[key]

        if before is None or before.done():
            release()
        else:
            before.add_done_callback(release)

    def _after_append(self, partition: Partition, high_watermark_moved: bool) -> None:
        """Kafka's rule: an append may complete fetches (followers read to the log end) and, if it
        moved the high watermark, acks=all produces and consumers' fetches."""
        self.fetch_purgatory.check_and_complete(partition.key)
        if high_watermark_moved:
            self.produce_purgatory.check_and_complete(partition.key)

    def on_append(self, partition: Partition) -> None:
        """For writers that append to a partition directly: wake whoever waits on it."""
        self._after_append(partition, True)

    def on_high_watermark_change(self, partition: Partition) -> None:
        """``partition``'s HW moved (a follower caught up, the ISR shrank): complete what waited for it."""
        self.produce_purgatory.check_and_complete(partition.key)
        self.fetch_purgatory.check_and_complete(partition.key)

    async def _wait_for_acks(self, results: dict[TopicPartition, AppendResult], timeout_ms: int) -> None:
        """acks=all: wait until the HW passes each appended batch (one past its last offset)."""
        required = []
        for key, result in results.items():
            info = result.info
            if result.error is None and info is not None and info.first_offset >= 0:
                partition = self.partitions.get(key)
                if partition is None:
                    continue
                done, error = partition.check_enough_replicas_reach_offset(info.last_offset + 1)
                if error is not None:
                    results[key] = AppendResult(info, error)
                elif not done:
                    required.append((key, partition, info.last_offset + 1))
        if not required:  # the usual case of an ISR of one: the HW moved with the append
            return
        operation = DelayedProduce(timeout_ms, required)
        outcome = await self.produce_purgatory.wait(operation, [key for key, _, _ in required])
        for key, failure in outcome.items():
            if failure is not None:
                results[key] = AppendResult(results[key].info, failure)

    # -- fetches ------------------------------------------------------------------------------------
    async def fetch_messages(
        self, params: FetchParams, partitions: Sequence[tuple[TopicPartition, FetchPartitionSpec]]
    ) -> list[FetchPartitionResult]:
        """Read each partition (in order, within ``params.max_bytes``; KIP-74: the first batch of the
        first partition with data comes back even if larger than both limits). With less than
        ``min_bytes`` and ``max_wait_ms`` > 0, wait in the fetch purgatory, then read again. The
        results are read in the step that returns them."""
        results = self._read(params, partitions, update_followers=True)
        if params.max_wait_ms <= 0 or not partitions or fetch_is_complete(results, params.min_bytes):
            return results
        throttled = (lambda p: self.should_leader_throttle(p, params.replica_id)) if params.is_follower else None
        operation = DelayedFetch(params, partitions, lambda key: self.leader_partition(*key), throttled)
        await self.fetch_purgatory.wait(operation, [key for key, _ in partitions])
        return self._read(params, partitions, update_followers=False)

    def _read(
        self,
        params: FetchParams,
        partitions: Sequence[tuple[TopicPartition, FetchPartitionSpec]],
        update_followers: bool,
    ) -> list[FetchPartitionResult]:
        limit = max(params.max_bytes, 0)
        min_one = True
        out = []
        for key, spec in partitions:
            result = self._read_one(params, key, spec, limit, min_one, update_followers)
            if result.size > 0:
                min_one = False
                limit = max(0, limit - result.size)
            out.append(result)
        return out

    def _read_one(
        self,
        params: FetchParams,
        key: TopicPartition,
        spec: FetchPartitionSpec,
        limit: int,
        min_one: bool,
        update_followers: bool,
    ) -> FetchPartitionResult:
        try:
            partition = self.leader_partition(*key)
            partition.check_leader_epoch(spec.current_leader_epoch)
            # A follower whose log diverges is told where (KIP-320) before its offset counts as its LEO.
            diverging = partition.diverging_epoch(spec.fetch_offset, spec.last_fetched_epoch)
            moved = params.is_follower and update_followers and diverging is None
            if moved and partition.update_follower_fetch_state(params.replica_id, spec.fetch_offset):
                self.on_high_watermark_change(partition)
            result = FetchPartitionResult(
                None, partition.high_watermark, partition.last_stable_offset, partition.log_start_offset
            )
            result.diverging_epoch = diverging
            if result.diverging_epoch is None:
                result.info = partition.read(
                    spec.fetch_offset,
                    min(max(spec.max_bytes, 0), limit),
                    partition.last_fetchable_offset(params.read_isolation),
                    min_one_message=min_one,
                )
                if params.is_follower and self.should_leader_throttle(partition, params.replica_id):
                    result.info = FetchDataInfo(result.info.fetch_offset_metadata)  # nothing, as Kafka
                if params.read_isolation == READ_COMMITTED:
                    result.aborted_transactions = partition.log.aborted_transactions(result.info)
        except (StorageError, ReplicaError) as exc:
            return FetchPartitionResult(exc)
        return result

    def should_leader_throttle(self, partition: Partition, replica_id: int) -> bool:
        """Kafka's ``shouldLeaderThrottle``: a follower out of the ISR, fetching a partition whose topic
        throttles it here, while the leader's replication quota is exceeded, gets no records."""
        quota = self.leader_quota
        return (
            quota is not None
            and replica_id not in partition.isr
            and quota.is_throttled(partition.config, partition.index)
            and quota.is_quota_exceeded()
        )

    # -- the ISR ------------------------------------------------------------------------------------
    def maybe_shrink_isr(self, now_ms: int | None = None) -> int:
        """Drop followers lagging more than replica.lag.time.max.ms from the ISRs this broker leads
        (the server runs it every replica.lag.time.max.ms / 2, as Kafka); completes what a moved HW
        lets go. In cluster mode the removals are proposed to the controller (``alter_isr``) and take
        effect with its answer. Returns how many left or were proposed to leave."""
        lag_max_ms = self.config.get("replica.lag.time.max.ms")
        removed = 0
        for partition in list(self.partitions.values()):
            hw = partition.high_watermark
            gone = partition.maybe_shrink_isr(lag_max_ms, now_ms)
            removed += len(gone)
            if gone:
                if partition.high_watermark != hw:
                    self.on_high_watermark_change(partition)
                else:  # fewer in-sync replicas: a waiting acks=all produce may now fail
                    self.produce_purgatory.check_and_complete(partition.key)
        return removed


def _epoch(topic: TopicMetadata, index: int) -> int:
    """The leader epoch of ``topic``'s partition ``index`` (0 for one not yet in the metadata)."""
    return topic.leader_epochs[index] if index < len(topic.leader_epochs) else 0

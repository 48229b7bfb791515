"""One replica fetcher (Kafka's ReplicaFetcherThread): an asyncio task that copies the logs of the
partitions this broker follows from one leader broker.

Each round, for the partitions not backing off:
1. Truncation (KIP-101, KIP-279): a partition added for a new leader or leader epoch first asks the
   leader (OffsetForLeaderEpoch, with this broker's id as replica id) for the end offset of its latest
   epoch and truncates to it (``broker.replication.truncation``), walking epochs back while the leader
   answers one the follower does not know. A log with no epochs truncates to its high watermark.
2. Out of range: a partition whose fetch offset the leader refused (OFFSET_OUT_OF_RANGE) asks the
   leader's log end and start offsets (ListOffsets as a replica): above the leader's log end it
   truncates to it; below the leader's log start it starts empty there (Kafka's follower does both).
3. Fetch: one Fetch (v12: current leader epoch, last fetched epoch; read_uncommitted; no session)
   with every truncated partition at its log end offset. The batches that come back are appended as
   follower, raw; then the follower takes the leader's high watermark (as far as its own log reaches)
   and log start offset. A diverging epoch in the answer (KIP-320) truncates as in 1.

Replication quota (Kafka's ``shouldFollowerThrottle``): with a ``quota``, a partition its topic
throttles here (``follower.replication.throttled.replicas``) that is not in sync (its last fetch with
records ended below the leader's high watermark, or it has had none since it was added) is left out
of the fetch while the quota is exceeded; if that leaves nothing to fetch, the fetcher waits
``replica.fetch.backoff.ms``. The records of every throttled partition, in sync or not, are recorded.

Errors: NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH and the like back the
partition off for ``replica.fetch.backoff.ms`` (the next LeaderAndIsr replaces its state); a dead
connection or an unknown leader endpoint backs off every partition. The task never dies of an
exception: it logs it and backs off.

Invariants: a partition's state is replaced whole when it is added again (``add``), and every answer
is applied only if the state it was asked for is still the current one and the log end offset has not
moved meanwhile; no await lies between that check and the append or truncation it guards. Not
thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from broker.config import BrokerConfig
from broker.network_client import BrokerUnreachable, NetworkClient
from broker.partition import Partition, ReplicaError
from broker.replication.quota import ReplicationQuota
from broker.replication.truncation import truncation_offset
from protocol.api import Api
from protocol.errors import ErrorCode
from protocol.messages.fetch import FETCH, FetchPartition, FetchRequest, FetchTopic, PartitionData
from protocol.messages.list_offsets import LIST_OFFSETS, ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic
from protocol.messages.offset_for_leader_epoch import (
    OFFSET_FOR_LEADER_EPOCH,
    OffsetForLeaderEpochRequest,
    OffsetForLeaderPartition,
    OffsetForLeaderTopic,
)
from protocol.schema import Struct
from storage.errors import StorageError

log = logging.getLogger(__name__)
TopicPartition = tuple[str, int]
Address = tuple[str, int]

FETCH_VERSION = 12  # topic names, current and last fetched leader epochs, diverging epochs
OFFSET_FOR_LEADER_EPOCH_VERSION = 3  # replica id, current leader epoch
LIST_OFFSETS_VERSION = 5  # current leader epoch
LATEST, EARLIEST = -1, -2
FOLLOWER_ERRORS = (StorageError, ReplicaError)


@dataclass(frozen=True, slots=True)
class FetcherConfig:
    node_id: int
    max_bytes: int  # replica.fetch.max.bytes, per partition
    response_max_bytes: int  # replica.fetch.response.max.bytes
    wait_max_ms: int  # replica.fetch.wait.max.ms
    min_bytes: int  # replica.fetch.min.bytes
    backoff_s: float  # replica.fetch.backoff.ms
    socket_timeout_s: float  # replica.socket.timeout.ms

    @classmethod
    def from_broker(cls, config: BrokerConfig, node_id: int) -> FetcherConfig:
        return cls(
            node_id=node_id,
            max_bytes=config.get("replica.fetch.max.bytes"),
            response_max_bytes=config.get("replica.fetch.response.max.bytes"),
            wait_max_ms=config.get("replica.fetch.wait.max.ms"),
            min_bytes=config.get("replica.fetch.min.bytes"),
            backoff_s=config.get("replica.fetch.backoff.ms") / 1000,
            socket_timeout_s=config.get("replica.socket.timeout.ms") / 1000,
        )


@dataclass(eq=False, slots=True)
class FetchState:
    """One followed partition as this fetcher sees it."""

    partition: Partition
    leader_epoch: int
    truncating: bool = True  # ask the leader where the logs part before fetching
    out_of_range: bool = False  # ask the leader's log start and end before fetching again
    delayed_until: float = 0.0  # time.monotonic() before which it is not fetched
    lag: int | None = None  # the leader's HW minus the log end offset after the last fetch with data

    @property
    def in_sync(self) -> bool:
        """Kafka's ``PartitionFetchState.isReplicaInSync``: the last fetch that brought records reached
        the leader's high watermark (never true before one has)."""
        return self.lag is not None and self.lag <= 0


class ReplicaFetcher:
    def __init__(
        self,
        leader_id: int,
        fetcher_id: int,
        config: FetcherConfig,
        endpoint: Callable[[int], Address | None],
        quota: ReplicationQuota | None = None,
    ) -> None:
        """``endpoint(broker_id)``: the broker's (host, port) on the inter-broker listener, or None;
        ``quota``: the follower's replication quota (``follower.replication.throttled.rate``)."""
        self.leader_id = leader_id
        self.fetcher_id = fetcher_id
        self.config = config
        self._endpoint = endpoint
        self.quota = quota
        self.states: dict[TopicPartition, FetchState] = {}
        self._client = NetworkClient(
            f"broker-{config.node_id}-fetcher-{fetcher_id}", request_timeout_s=config.socket_timeout_s
        )
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._reachable = True  # log a dead connection once, not every backoff
        self._closed = False

    @property
    def name(self) -> str:
        return f"ReplicaFetcher-{self.fetcher_id}-{self.leader_id} on broker {self.config.node_id}"

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    def add(self, partition: Partition) -> None:
        self.states[partition.key] = FetchState(partition, partition.leader_epoch)
        self._wake.set()

    def remove(self, key: TopicPartition) -> None:
        self.states.pop(key, None)

    async def close(self) -> None:
        self._closed = True  # the loop ends even if a wait swallows the cancellation (Python 3.11's wait_for)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.close()

    # -- the loop ------------------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._closed:
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; backing off", self.name)
                await asyncio.sleep(self.config.backoff_s)

    async def _round(self) -> None:
        now = time.monotonic()
        ready = [s for s in self.states.values() if s.delayed_until <= now]
        if not ready:
            await self._idle(now)
            return
        address = self._endpoint(self.leader_id)
        if address is None:
            log.debug("%s: leader %d has no known endpoint yet", self.name, self.leader_id)
            self._delay(ready)
            return
        truncating = [s for s in ready if s.truncating]
        if truncating:
            await self._truncate(address, truncating)
        out_of_range = [s for s in ready if s.out_of_range and self._current(s)]
        if out_of_range:
            await self._reset_out_of_range(address, out_of_range)
        fetchable = [s for s in ready if self._current(s) and not (s.truncating or s.out_of_range)]
        fetchable = [s for s in fetchable if s.delayed_until <= time.monotonic()]
        throttled = [s for s in fetchable if self._should_throttle(s)]
        if throttled:
            fetchable = [s for s in fetchable if s not in throttled]
        if fetchable:
            await self._fetch(address, fetchable)
        elif throttled:  # nothing to ask for: Kafka's fetcher waits replica.fetch.backoff.ms
            await self._wait_for_wake(self.config.backoff_s)

    def _should_throttle(self, state: FetchState) -> bool:
        """Kafka's ``shouldFollowerThrottle``: a replica not in sync, that its topic throttles here,
        while the follower's replication quota is exceeded, is left out of the fetch."""
        quota = self.quota
        partition = state.partition
        return (
            quota is not None
            and not state.in_sync
            and quota.is_throttled(partition.config, partition.index)
            and quota.is_quota_exceeded()
        )

    async def _wait_for_wake(self, timeout: float | None) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def _idle(self, now: float) -> None:
        """Wait for a partition to be added or for the first backoff to end."""
        await self._wait_for_wake(min((s.delayed_until - now for s in self.states.values()), default=None))

    def _current(self, state: FetchState) -> bool:
        return self.states.get(state.partition.key) is state

    def _delay(self, states: list[FetchState]) -> None:
        until = time.monotonic() + self.config.backoff_s
        for state in states:
            state.delayed_until = until

    async def _request(self, address: Address, api: Api, version: int, body: Struct, states: list[FetchState]) -> Any:
        """The leader's answer, or None having backed ``states`` off (the connection failed)."""
        try:
            response = await self._client.request(self.leader_id, address[0], address[1], api, version, body)
        except BrokerUnreachable as exc:
            if self._reachable:
                log.info("%s: %s; backing off", self.name, exc)
            self._reachable = False
            self._delay(states)
            return None
        self._reachable = True
        return response

    # -- truncation ------------------------------------------------------------------------------------
    async def _truncate(self, address: Address, states: list[FetchState]) -> None:
        asked: list[tuple[FetchState, int]] = []
        topics: dict[str, OffsetForLeaderTopic] = {}
        for state in states:
            partition = state.partition
            epoch = partition.latest_epoch
            if epoch < 0:  # no epochs to ask about: only what is below the high watermark is sure
                self._apply_truncation(state, partition.high_watermark, True, "no leader epochs")
                continue
            asked.append((state, epoch))
            topic = topics.setdefault(partition.topic, OffsetForLeaderTopic(topic=partition.topic))
            topic.partitions.append(
                OffsetForLeaderPartition(
                    partition=partition.index, current_leader_epoch=state.leader_epoch, leader_epoch=epoch
                )
            )
        if not asked:
            return
        request = OffsetForLeaderEpochRequest(replica_id=self.config.node_id, topics=list(topics.values()))
        states_asked = [s for s, _ in asked]
        response = await self._request(address, OFFSET_FOR_LEADER_EPOCH, OFFSET_FOR_LEADER_EPOCH_VERSION, request,
                                       states_asked)  # fmt: skip
        if response is None:
            return
        answers = {(t.topic, p.partition): p for t in response.topics for p in t.partitions}
        for state, epoch in asked:
            answer = answers.get(state.partition.key)
            if not self._current(state) or state.partition.latest_epoch != epoch:
                continue
            if answer is None or answer.error_code != ErrorCode.NONE:
                code = ErrorCode(answer.error_code).name if answer is not None else "no answer"
                log.info("%s: OffsetForLeaderEpoch for %s: %s; backing off", self.name, state.partition.name, code)
                self._delay([state])
                continue
            self._truncate_to_leader(state, answer.leader_epoch, answer.end_offset)

    def _truncate_to_leader(self, state: FetchState, leader_epoch: int, leader_end_offset: int) -> None:
        partition = state.partition
        decision = truncation_offset(
            leader_epoch, leader_end_offset, partition.log_end_offset, partition.high_watermark,
            partition.end_offset_for_epoch,
        )  # fmt: skip
        why = f"leader {self.leader_id} has epoch {leader_epoch} ending at {leader_end_offset}"
        self._apply_truncation(state, decision.offset, decision.complete, why)

    def _apply_truncation(self, state: FetchState, offset: int, complete: bool, why: str) -> None:
        partition = state.partition
        end = partition.log_end_offset
        try:
            partition.truncate_to(offset)  # at the log end too: an empty epoch there goes (see Log.truncate_to)
        except FOLLOWER_ERRORS as exc:
            log.warning("%s: cannot truncate %s to %d: %s", self.name, partition.name, offset, exc)
            self._delay([state])
            return
        if offset < end:
            log.info("%s: truncated %s from %d to %d (%s)", self.name, partition.name, end, offset, why)
        state.truncating = not complete

    async def _reset_out_of_range(self, address: Address, states: list[FetchState]) -> None:
        ends = await self._leader_offsets(address, states, LATEST)
        starts = await self._leader_offsets(address, states, EARLIEST) if ends else {}
        for state in states:
            key = state.partition.key
            if not self._current(state) or key not in ends or key not in starts:
                continue
            partition = state.partition
            end, leader_end, leader_start = partition.log_end_offset, ends[key], starts[key]
            try:
                if leader_end < end:
                    log.warning("%s: %s ends at %d, above the leader's %d: truncating",
                                self.name, partition.name, end, leader_end)  # fmt: skip
                    partition.truncate_to(leader_end)
                elif leader_start > end:
                    log.info("%s: %s ends at %d, below the leader's log start %d: starting there",
                             self.name, partition.name, end, leader_start)  # fmt: skip
                    partition.truncate_fully_and_start_at(leader_start)
            except FOLLOWER_ERRORS as exc:
                log.warning("%s: cannot reset %s: %s", self.name, partition.name, exc)
                self._delay([state])
                continue
            state.out_of_range = False

    async def _leader_offsets(
        self, address: Address, states: list[FetchState], timestamp: int
    ) -> dict[TopicPartition, int]:
        topics: dict[str, ListOffsetsTopic] = {}
        for state in states:
            partition = state.partition
            topic = topics.setdefault(partition.topic, ListOffsetsTopic(name=partition.topic))
            topic.partitions.append(
                ListOffsetsPartition(
                    partition_index=partition.index, current_leader_epoch=state.leader_epoch, timestamp=timestamp
                )
            )
        request = ListOffsetsRequest(replica_id=self.config.node_id, topics=list(topics.values()))
        response = await self._request(address, LIST_OFFSETS, LIST_OFFSETS_VERSION, request, states)
        if response is None:
            return {}
        out: dict[TopicPartition, int] = {}
        for topic_answer in response.topics:
            for answer in topic_answer.partitions:
                key = (topic_answer.name, answer.partition_index)
                if answer.error_code == ErrorCode.NONE:
                    out[key] = answer.offset
                else:
                    log.info("%s: ListOffsets for %s-%d: %s", self.name, *key, ErrorCode(answer.error_code).name)
        missing = [s for s in states if s.partition.key not in out]
        self._delay(missing)
        return out

    # -- fetching ------------------------------------------------------------------------------------
    async def _fetch(self, address: Address, states: list[FetchState]) -> None:
        sent: dict[TopicPartition, tuple[FetchState, int]] = {}
        topics: dict[str, FetchTopic] = {}
        for state in states:
            partition = state.partition
            offset = partition.log_end_offset
            sent[partition.key] = (state, offset)
            topic = topics.setdefault(partition.topic, FetchTopic(topic=partition.topic))
            topic.partitions.append(
                FetchPartition(
                    partition=partition.index, current_leader_epoch=state.leader_epoch, fetch_offset=offset,
                    last_fetched_epoch=partition.latest_epoch, log_start_offset=partition.log_start_offset,
                    partition_max_bytes=self.config.max_bytes,
                )
            )  # fmt: skip
        request = FetchRequest(
            replica_id=self.config.node_id, max_wait_ms=self.config.wait_max_ms, min_bytes=self.config.min_bytes,
            max_bytes=self.config.response_max_bytes, isolation_level=0, session_id=0, session_epoch=-1,
            topics=list(topics.values()),
        )  # fmt: skip
        response = await self._request(address, FETCH, FETCH_VERSION, request, states)
        if response is None:
            return
        if response.error_code != ErrorCode.NONE:
            log.info("%s: Fetch failed: %s; backing off", self.name, ErrorCode(response.error_code).name)
            self._delay(states)
            return
        for topic_answer in response.responses:
            for data in topic_answer.partitions:
                entry = sent.get((topic_answer.topic, data.partition_index))
                if entry is None:
                    continue
                state, offset = entry
                if self._current(state) and state.partition.log_end_offset == offset:
                    self._process(state, data)

    def _process(self, state: FetchState, data: PartitionData) -> None:
        partition = state.partition
        code = data.error_code
        if code == ErrorCode.OFFSET_OUT_OF_RANGE:
            state.out_of_range = True
            return
        if code != ErrorCode.NONE:
            log.info("%s: fetching %s: %s; backing off", self.name, partition.name, ErrorCode(code).name)
            self._delay([state])
            return
        diverging = data.diverging_epoch
        if diverging.epoch >= 0 or diverging.end_offset >= 0:
            self._truncate_to_leader(state, diverging.epoch, diverging.end_offset)
            return
        records = data.records
        size = len(records) if records is not None else 0
        try:
            if records is not None and size > 0:
                partition.append_as_follower(records)
            partition.update_follower_offsets(data.high_watermark, data.log_start_offset)
        except FOLLOWER_ERRORS as exc:
            log.warning("%s: cannot append to %s: %s; backing off", self.name, partition.name, exc)
            self._delay([state])
            return
        if size > 0:  # Kafka: the lag is that of the last fetch that brought records
            state.lag = max(0, data.high_watermark - partition.log_end_offset)
        quota = self.quota
        if quota is not None and quota.is_throttled(partition.config, partition.index):
            quota.record(size)  # in-sync replicas count too, so the total stays within the quota

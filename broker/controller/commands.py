"""What a broker in cluster mode does with its controller's requests: LeaderAndIsr, UpdateMetadata, StopReplica.

As Kafka's ReplicaManager.becomeLeaderOrFollower / stopReplicas and the metadata cache's update:

- Fencing first, before anything changes: a request must come from the controller this broker sees in
  ZooKeeper (``active_controller()``) with a controller epoch no older than the newest it has obeyed
  (else ``STALE_CONTROLLER_EPOCH``), and, where the request carries one (-1: none), for this broker's
  current registration (a broker epoch older than ours: ``STALE_BROKER_EPOCH``). So nothing reaches
  the replica manager or the metadata cache from a deposed controller or an arbitrary client.
- LeaderAndIsr: per partition naming this broker as a replica, with a leader epoch newer than the one
  hosted (an equal or older one is ``STALE_CONTROLLER_EPOCH`` for that partition, as Kafka answers):
  partitions not hosted yet get their logs made in worker threads (``ReplicaManager.prepare_leaders``),
  then in one step every partition becomes leader or follower, and the leadership listeners of
  internal topics (``__consumer_offsets``: the group coordinator; ``__transaction_state``: the
  transaction coordinator) are told ``on_elected`` / ``on_resigned``. A follower's fetching (truncation first)
  starts over in ``ReplicaManager.make_follower`` (``broker.replication``).
- UpdateMetadata: its content replaces the metadata cache's view (``MetadataUpdate``); topics new to
  this broker come with their config overrides, read from ZooKeeper first.
- StopReplica: the partitions stop being served (a leader resigns), and with ``delete`` their
  directories are renamed for deletion at once and removed in a worker thread.

Requests are applied one at a time, in the order they arrived (a LeaderAndIsr that waits for its logs
holds back the next one), so a later request never is overtaken by an earlier one. Not thread-safe:
the broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from broker.controller.errors import ControllerError
from broker.metadata_cache import MetadataCache, MetadataUpdate
from broker.partition import ReplicaError
from broker.replica_manager import PreparedLeaders, ReplicaManager
from broker.topics import TopicMetadata
from protocol.errors import ErrorCode
from protocol.messages.leader_and_isr import LeaderAndIsrPartitionState, LeaderAndIsrRequest
from protocol.messages.stop_replica import StopReplicaRequest
from protocol.messages.update_metadata import UpdateMetadataRequest
from storage.errors import StorageError

log = logging.getLogger(__name__)
TopicPartition = tuple[str, int]
NO_BROKER_EPOCH = -1


class LeadershipListener(Protocol):
    """A coordinator that owns the partitions of an internal topic this broker leads."""

    def on_elected(self, partition: int, leader_epoch: int) -> None: ...

    def on_resigned(self, partition: int, leader_epoch: int) -> None: ...


@dataclass(frozen=True, slots=True)
class _Wanted:
    state: LeaderAndIsrPartitionState
    topic: str
    topic_id: bytes


class ControllerCommands:
    def __init__(
        self,
        node_id: int,
        replicas: ReplicaManager,
        cache: MetadataCache,
        broker_epoch: Callable[[], int],
        active_controller: Callable[[], int],
        topic_configs: Callable[[str], Awaitable[Mapping[str, Any]]],
    ) -> None:
        """``broker_epoch()``: this broker's registration's czxid; ``active_controller()``: the controller
        id as this broker last read /controller; ``topic_configs(topic)``: a topic's typed overrides."""
        self.node_id = node_id
        self.replicas = replicas
        self.cache = cache
        self._broker_epoch = broker_epoch
        self._active_controller = active_controller
        self._topic_configs = topic_configs
        self.controller_epoch = 0  # the newest controller epoch obeyed
        self.leadership: dict[str, LeadershipListener] = {}  # internal topic -> its coordinator
        self._turn = asyncio.Lock()  # keeps requests in arrival order (see the module notes)

    # -- fencing -------------------------------------------------------------------------------------
    def check(self, controller_id: int, controller_epoch: int, broker_epoch: int) -> None:
        """Refuse a request not from the current controller, or meant for an earlier registration."""
        active = self._active_controller()
        if controller_epoch < self.controller_epoch or controller_id != active:
            raise ControllerError(
                ErrorCode.STALE_CONTROLLER_EPOCH,
                f"Received a request from controller {controller_id} with epoch {controller_epoch}; the latest "
                f"known controller is {active} with epoch {self.controller_epoch}",
            )
        current = self._broker_epoch()
        if broker_epoch != NO_BROKER_EPOCH and broker_epoch < current:
            raise ControllerError(
                ErrorCode.STALE_BROKER_EPOCH,
                f"Received a request with broker epoch {broker_epoch}, smaller than the current broker epoch {current}",
            )

    # -- UpdateMetadata ------------------------------------------------------------------------------
    async def update_metadata(self, request: UpdateMetadataRequest, version: int) -> None:
        async with self._turn:
            self.check(request.controller_id, request.controller_epoch, request.broker_epoch)
            update = MetadataUpdate.from_request(request, version)
            # Topics new to this broker come with their config overrides (DescribeConfigs answers the
            # same everywhere, hosted here or not); read before the topics appear.
            new = [t.topic_name for t in update.topic_states if self.cache.topic(t.topic_name) is None]
            configs = await asyncio.gather(*(self._topic_configs(name) for name in new))
            self.check(request.controller_id, request.controller_epoch, request.broker_epoch)
            self.controller_epoch = request.controller_epoch
            self.cache.update_metadata(update)
            for name, overrides in zip(new, configs, strict=True):
                if self.cache.topic(name) is not None:
                    self.cache.update_topic_configs(name, overrides)

    # -- LeaderAndIsr --------------------------------------------------------------------------------
    async def leader_and_isr(self, request: LeaderAndIsrRequest, version: int) -> dict[TopicPartition, ErrorCode]:
        """Per partition of the request, the error code to answer (NONE: applied)."""
        async with self._turn:
            self.check(request.controller_id, request.controller_epoch, request.broker_epoch)
            self.controller_epoch = request.controller_epoch
            wanted: list[_Wanted] = []
            if version < 2:
                wanted = [_Wanted(p, p.topic_name, bytes(16)) for p in request.ungrouped_partition_states]
            else:
                wanted = [
                    _Wanted(p, t.topic_name, t.topic_id if version >= 5 else bytes(16))
                    for t in request.topic_states
                    for p in t.partition_states
                ]
            results: dict[TopicPartition, ErrorCode] = {}
            apply: list[_Wanted] = []
            for w in wanted:
                key = (w.topic, w.state.partition_index)
                hosted = self.replicas.get_partition(*key)
                if self.node_id not in w.state.replicas:
                    results[key] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                elif hosted is not None and w.state.leader_epoch <= hosted.leader_epoch:
                    log.info("%s-%d: ignoring LeaderAndIsr with leader epoch %d, at %d already",
                             *key, w.state.leader_epoch, hosted.leader_epoch)  # fmt: skip
                    results[key] = ErrorCode.STALE_CONTROLLER_EPOCH
                else:
                    results[key] = ErrorCode.NONE
                    apply.append(w)
            prepared = await self._prepare_new(apply, results)
            for metadata, ready in prepared:  # from here on one step: no await
                self.cache.update_topic_configs(metadata.name, metadata.configs)
                self.replicas.lead(metadata, ready)
            for w in apply:
                key = (w.topic, w.state.partition_index)
                if results[key] == ErrorCode.NONE:
                    results[key] = self._become(w)
            return results

    async def _prepare_new(
        self, apply: list[_Wanted], results: dict[TopicPartition, ErrorCode]
    ) -> list[tuple[TopicMetadata, PreparedLeaders]]:
        """Make the logs of the partitions not hosted yet, off the loop; the caller hosts them (as
        leaders at first: ``_become`` sets their role in the same step)."""
        out: list[tuple[TopicMetadata, PreparedLeaders]] = []
        by_topic: dict[str, list[_Wanted]] = {}
        for w in apply:
            if self.replicas.get_partition(w.topic, w.state.partition_index) is None:
                by_topic.setdefault(w.topic, []).append(w)
        for topic, items in by_topic.items():
            size = max(w.state.partition_index for w in items) + 1
            replicas: list[list[int]] = [[] for _ in range(size)]
            epochs = [0] * size
            for w in items:
                replicas[w.state.partition_index] = list(w.state.replicas)
                epochs[w.state.partition_index] = w.state.leader_epoch
            topic_id = items[0].topic_id
            if topic_id == bytes(16):
                image = self.cache.topic(topic)
                topic_id = image.topic_id if image is not None else topic_id
            try:
                configs = dict(await self._topic_configs(topic))
                metadata = TopicMetadata(topic, topic_id, replicas, configs, epochs)
                indexes = sorted(w.state.partition_index for w in items)
                prepared = await self.replicas.prepare_leaders(metadata, indexes)
            except (StorageError, OSError) as exc:
                log.error("cannot host partitions of %s: %s", topic, exc)
                for w in items:
                    results[(topic, w.state.partition_index)] = ErrorCode.KAFKA_STORAGE_ERROR
                continue
            out.append((metadata, prepared))
        return out

    def _become(self, w: _Wanted) -> ErrorCode:
        state, topic, index = w.state, w.topic, w.state.partition_index
        listener = self.leadership.get(topic)
        try:
            if state.leader == self.node_id:
                self.replicas.make_leader(topic, index, state.leader_epoch, list(state.isr), list(state.replicas),
                                          partition_epoch=state.partition_epoch)  # fmt: skip
                if listener is not None:
                    listener.on_elected(index, state.leader_epoch)
            else:
                self.replicas.make_follower(topic, index, state.leader, state.leader_epoch, list(state.replicas))
                if listener is not None:
                    listener.on_resigned(index, state.leader_epoch)
        except (ReplicaError, StorageError) as exc:
            log.error("%s-%d: cannot apply LeaderAndIsr: %s", topic, index, exc)
            return ErrorCode.KAFKA_STORAGE_ERROR
        log.info("%s-%d: %s at leader epoch %d (leader %d, ISR %s)", topic, index,
                 "leading" if state.leader == self.node_id else "following", state.leader_epoch, state.leader,
                 list(state.isr))  # fmt: skip
        return ErrorCode.NONE

    # -- StopReplica ---------------------------------------------------------------------------------
    async def stop_replica(self, request: StopReplicaRequest, version: int) -> dict[TopicPartition, ErrorCode]:
        async with self._turn:
            self.check(request.controller_id, request.controller_epoch, request.broker_epoch)
            self.controller_epoch = request.controller_epoch
            stops: list[tuple[TopicPartition, bool, int]] = []
            if version == 0:
                stops = [((p.topic_name, p.partition_index), request.delete_partitions, -1)
                         for p in request.ungrouped_partitions]  # fmt: skip
            elif version <= 2:
                delete = request.delete_partitions
                stops = [((t.name, i), delete, -1) for t in request.topics for i in t.partition_indexes]
            else:
                stops = [
                    ((t.topic_name, p.partition_index), p.delete_partition, p.leader_epoch)
                    for t in request.topic_states
                    for p in t.partition_states
                ]
            results: dict[TopicPartition, ErrorCode] = {}
            doomed_keys: list[TopicPartition] = []
            for key, delete, leader_epoch in stops:
                hosted = self.replicas.get_partition(*key)
                listener = self.leadership.get(key[0])
                if hosted is not None and listener is not None:
                    listener.on_resigned(key[1], max(leader_epoch, hosted.leader_epoch))
                if delete and self.replicas.log_manager.get_log(*key) is not None:
                    doomed_keys.append(key)
                else:
                    self.replicas.remove_partition(key[0], key[1], delete=False)
                results[key] = ErrorCode.NONE
            if doomed_keys:
                try:
                    doomed = self.replicas.log_manager.delete_logs(doomed_keys)
                except StorageError as exc:
                    log.error("cannot delete %s: %s", doomed_keys, exc)
                    for key in doomed_keys:
                        results[key] = ErrorCode.KAFKA_STORAGE_ERROR
                    return results
                for key in doomed_keys:
                    self.replicas.remove_partition(key[0], key[1], delete=True)  # its log is gone already
                log.info("deleted the logs of %s", [f"{t}-{i}" for t, i in doomed_keys])
                await asyncio.to_thread(self.replicas.log_manager.remove_deleted_dirs, doomed)
            return results

"""The ZooKeeper-era controller: what the broker holding /controller does (Kafka's KafkaController).

Everything it does runs as events on ONE queue, one at a time (Kafka's ControllerEventManager): its
election, its resignation, live-broker changes, topics created (/brokers/topics children), partitions
added (a topic's data), topics marked for deletion (/admin/delete_topics children). An event of an
earlier reign (``_reign`` moved on) does nothing. Its context (live brokers, assignments, partition
states and their zkVersions) is rebuilt from ZooKeeper at each election.

- Elected: read the live brokers, every topic and partition state; give a leader to each partition
  that has none or whose leader is dead (``state_machine``: from the ISR in replica order; with
  ``unclean.leader.election.enable=false``, the default, a partition whose ISR is all dead stays
  offline, leader -1); write each state with its zkVersion, fenced by the controller epoch
  (``topics.update_partition_state``); then send LeaderAndIsr to every replica and UpdateMetadata to
  every live broker.
- A broker dies: partitions it led get a new leader with a bumped leader epoch, and it leaves the ISRs
  (never the last member); a broker joins or comes back: offline partitions it can lead come online,
  and it is told its partitions. Everyone gets the new metadata.
- A topic or partitions appear: their first live replica leads, every live replica is in the ISR.
- A topic marked for deletion: StopReplica(delete) to its live replicas, UpdateMetadata with leader -2
  to every broker, then its znodes go (assignment, states, config, the mark). With a replica down,
  the znodes stay until that broker comes back and is told to delete too (as Kafka keeps such a
  deletion pending); a new controller resumes it from /admin/delete_topics.
- AlterPartition from a partition leader (``isr_changes``): an ISR change proposed by the leader is
  checked and written in its turn on the event queue, then every live broker gets UpdateMetadata. The
  controller stays the only writer of partition state znodes.
- Reassignment (``reassignment``, KIP-455): AlterPartitionReassignments and /admin/reassign_partitions
  move a partition's replicas (RS = target + original while moving, with adding/removing replicas in
  /brokers/topics/<t>); completed after the AlterPartition that brings the last target replica into the
  ISR, resumed at election and when a target broker starts. A topic marked for deletion waits for them.
- Unclean leader election is decided per topic (``unclean``): the topic's
  ``unclean.leader.election.enable`` override, else the broker's, read from /config/topics/<t> when a
  partition has no live ISR member; an unclean leader is logged with a warning of possible data loss.

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kazoo.exceptions import NoNodeError, NotEmptyError
from kazoo.protocol.states import EventType, WatchedEvent

from broker.config import BrokerConfig
from protocol.messages.alter_partition import AlterPartitionRequest, AlterPartitionResponse
from protocol.messages.leader_and_isr import (
    LEADER_AND_ISR,
    LeaderAndIsrLiveLeader,
    LeaderAndIsrPartitionState,
    LeaderAndIsrRequest,
    LeaderAndIsrTopicState,
)
from protocol.messages.stop_replica import (
    STOP_REPLICA,
    StopReplicaPartitionState,
    StopReplicaRequest,
    StopReplicaTopicState,
)
from protocol.messages.update_metadata import (
    UPDATE_METADATA,
    UpdateMetadataBroker,
    UpdateMetadataEndpoint,
    UpdateMetadataPartitionState,
    UpdateMetadataRequest,
    UpdateMetadataTopicState,
)

from . import isr_changes, paths
from .channel import ControllerChannel
from .client import ZkClient
from .election import ControllerEpoch, ControllerMoved
from .leader_balance import LeaderBalancer, Replicas
from .live_brokers import BrokerChange, LiveBroker
from .reassignment import Reassigner
from .state_machine import IllegalStateChange, initial_leader, offline_partition_leader, partition_transition
from .state_machine import PartitionState as Phase
from .topics import create_partition_states, read_partition_states, update_partition_state
from .unclean import elect_leaderless, unclean_election_enabled, warn_if_unclean
from .znodes import PartitionState, ReplicaAssignment, TopicAssignment, ZnodeDataError, decode_topic_assignment

log = logging.getLogger(__name__)
TopicPartition = tuple[str, int]
NO_LEADER = -1
LEADER_DURING_DELETE = -2
LEADER_AND_ISR_VERSION = 5  # topic ids (Kafka 2.8+); brokers answer 0-5
UPDATE_METADATA_VERSION = 7
STOP_REPLICA_VERSION = 3
SECURITY_PROTOCOLS = {"PLAINTEXT": 0, "SSL": 1, "SASL_PLAINTEXT": 2, "SASL_SSL": 3}
UPDATE_RETRIES = 3


@dataclass(slots=True)
class _Partition:
    replicas: tuple[int, ...]  # while it is reassigned: RS, the target and the original replicas
    state: PartitionState | None = None  # None: no state znode yet
    zk_version: int = -1
    phase: Phase = Phase.NON_EXISTENT
    adding: tuple[int, ...] = ()
    removing: tuple[int, ...] = ()

    @property
    def assignment(self) -> ReplicaAssignment:
        return ReplicaAssignment(self.replicas, self.adding, self.removing)

    @property
    def reassigning(self) -> bool:
        return bool(self.adding or self.removing)

    def set_assignment(self, assignment: ReplicaAssignment) -> None:
        self.replicas, self.adding, self.removing = (
            assignment.replicas,
            assignment.adding_replicas,
            assignment.removing_replicas,
        )


class ZkController:
    def __init__(
        self, zk: ZkClient, broker_id: int, config: BrokerConfig, channel: ControllerChannel,
        live_brokers: Callable[[], dict[int, LiveBroker]],
    ) -> None:  # fmt: skip
        self._zk = zk
        self.broker_id = broker_id
        self._config = config
        self._channel = channel
        self._live_brokers = live_brokers
        self.epoch: ControllerEpoch | None = None
        self._reign = 0
        self._queue: asyncio.Queue[tuple[int, Callable[[], Awaitable[None]]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.live: dict[int, LiveBroker] = {}
        self.topics: dict[str, TopicAssignment] = {}
        self.partitions: dict[TopicPartition, _Partition] = {}
        self.deleting: dict[str, dict[int, list[int]]] = {}  # topic -> dead replica -> its partitions
        self.balance = LeaderBalancer(self)  # ElectLeaders, /admin/preferred_replica_election, auto rebalance
        self.shutting_down: set[int] = set()  # brokers in controlled shutdown: never elected (controlled_shutdown)
        self.reassign = Reassigner(self)  # AlterPartitionReassignments, /admin/reassign_partitions (reassignment)
        self.deletion_waiting: set[str] = set()  # marked for deletion, waiting for their reassignments

    @property
    def zk(self) -> ZkClient:
        return self._zk

    @property
    def config(self) -> BrokerConfig:
        return self._config

    @property
    def reign(self) -> int:
        return self._reign

    # -- the event queue -------------------------------------------------------------------------------
    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="controller event queue")

    async def close(self) -> None:
        self.resigned()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self._channel.close()

    def _enqueue(self, event: Callable[[], Awaitable[None]]) -> None:
        self._queue.put_nowait((self._reign, event))

    def submit(self, event: Callable[[], Awaitable[None]]) -> None:
        """Run ``event`` on the queue in this reign (other controller modules' events)."""
        self._enqueue(event)

    async def _run(self) -> None:
        while True:
            reign, event = await self._queue.get()
            if reign != self._reign or self.epoch is None:
                continue  # an event of an earlier reign, or we are not the controller
            try:
                await event()
            except ControllerMoved as exc:
                log.info("controller %d: %s", self.broker_id, exc)
            except Exception:
                if reign != self._reign:  # resigned meanwhile (a lost session): that reign's work stops here
                    log.info("controller %d: an event of a finished reign stopped", self.broker_id)
                else:
                    log.exception("controller event %s failed", getattr(event, "__name__", event))

    # -- what the election and the watches report ------------------------------------------------------
    def elected(self, epoch: ControllerEpoch) -> None:
        self._reign += 1
        self.epoch = epoch
        self._enqueue(self._on_elected)

    def resigned(self) -> None:
        if self.epoch is None:
            return
        self._reign += 1
        self.epoch = None
        self.balance.resigned()
        self.reassign.resigned()
        for broker_id in list(self.live):
            self._channel.remove_broker(broker_id)
        self.live, self.topics, self.partitions, self.deleting = {}, {}, {}, {}
        self.shutting_down, self.deletion_waiting = set(), set()

    def brokers_changed(self, change: BrokerChange) -> None:
        if self.epoch is not None:
            self._enqueue(lambda: self._on_broker_change(change))

    def _on_topics_event(self, event: WatchedEvent) -> None:
        if self.epoch is not None and event.type != EventType.NONE:
            self._enqueue(self._on_topics_change)

    def _on_topic_data_event(self, event: WatchedEvent) -> None:
        if self.epoch is not None and event.type == EventType.CHANGED:
            topic = event.path.rsplit("/", 1)[-1]
            self._enqueue(lambda: self._on_partitions_change(topic))

    def _on_delete_event(self, event: WatchedEvent) -> None:
        if self.epoch is not None and event.type != EventType.NONE:
            self._enqueue(self._on_deletions)

    def unclean_election_enabled(self, topic: str) -> None:
        """``topic`` now allows unclean leader election: its leaderless partitions may get one."""
        if self.epoch is not None:
            self._enqueue(lambda: elect_leaderless(self, topic))

    async def alter_partition(self, request: AlterPartitionRequest, version: int) -> AlterPartitionResponse:
        """A partition leader's AlterPartition, answered after its turn on the event queue."""
        return await isr_changes.submit(self, request, version)

    # -- events ------------------------------------------------------------------------------------------
    async def _on_elected(self) -> None:
        log.info("controller %d: loading the cluster state (epoch %s)", self.broker_id, self.epoch)
        self.live = dict(self._live_brokers())
        for broker in self.live.values():
            self._channel.add_broker(broker.registration)
        self.topics, self.partitions = {}, {}
        names = await self._zk.get_children(paths.TOPICS, watch=self._on_topics_event)
        await asyncio.gather(*(self._load_topic(topic) for topic in names))
        await self._elect(list(self.partitions))
        await self._on_deletions()  # topics marked for deletion are not handed out again
        self._send_leader_and_isr(self.live, list(self.partitions))
        self._send_update_metadata(list(self.partitions))
        await self.balance.on_elected()
        await self.reassign.on_elected()
        log.info(
            "controller %d: %d live broker(s), %d topic(s), %d partition(s), %d offline",
            self.broker_id, len(self.live), len(self.topics), len(self.partitions),
            sum(1 for p in self.partitions.values() if p.phase is not Phase.ONLINE),
        )  # fmt: skip

    async def _load_topic(self, topic: str) -> list[TopicPartition]:
        """Read a topic's assignment (watching it) and its partitions' states; returns its new partitions."""
        try:
            data, _ = await self._zk.get(paths.topic_path(topic), watch=self._on_topic_data_event)
            assignment = decode_topic_assignment(topic, data)
        except NoNodeError:
            return []
        except ZnodeDataError as exc:
            log.error("controller: leaving topic %s out: %s", topic, exc)
            return []
        self.topics[topic] = assignment
        new = [p for p in assignment.partitions if (topic, p) not in self.partitions]
        states = await read_partition_states(self._zk, topic, new)
        for index in new:
            partition = _Partition(assignment.partitions[index].replicas)
            partition.set_assignment(assignment.partitions[index])
            partition.phase = partition_transition(partition.phase, Phase.NEW)
            if index in states:
                partition.state, partition.zk_version = states[index]
            self.partitions[(topic, index)] = partition
        return [(topic, p) for p in new]

    async def _on_broker_change(self, change: BrokerChange) -> None:
        for broker_id in change.died:
            self.live.pop(broker_id, None)
            self.shutting_down.discard(broker_id)
            self._channel.remove_broker(broker_id)
        arrived = {**change.joined, **change.bounced}
        for broker_id, broker in {**arrived, **change.updated}.items():
            self.live[broker_id] = broker
            self._channel.add_broker(broker.registration)
        affected = [
            key for key, p in self.partitions.items()
            if p.state is None or p.state.leader not in self.live or any(r not in self.live for r in p.state.isr)
        ]  # fmt: skip
        changed = await self._elect(affected)
        self._send_update_metadata(list(self.partitions))
        self._send_leader_and_isr(arrived, list(self.partitions))
        others = {i: b for i, b in self.live.items() if i not in arrived}
        self._send_leader_and_isr(others, changed)
        for topic, pending in list(self.deleting.items()):  # deletions that waited for these brokers
            for broker_id in [b for b in pending if b in arrived]:
                self._send_stop_replica(broker_id, topic, pending.pop(broker_id))
            if not pending:
                del self.deleting[topic]
                await self._finish_deletion(topic)
        await self.reassign.brokers_started(set(arrived))

    async def _on_topics_change(self) -> None:
        names = await self._zk.get_children(paths.TOPICS, watch=self._on_topics_event)
        new: list[TopicPartition] = []
        for topic in sorted(set(names) - set(self.topics)):
            new += await self._load_topic(topic)
        await self._bring_online(new)

    async def _on_partitions_change(self, topic: str) -> None:
        if topic in self.topics:
            await self._bring_online(await self._load_topic(topic))

    async def _bring_online(self, new: list[TopicPartition]) -> None:
        if not new:
            return
        await self._elect(new)
        self._send_leader_and_isr(self.live, new)
        self._send_update_metadata(new)
        log.info("controller %d: new partitions %s", self.broker_id, [f"{t}-{p}" for t, p in new])

    async def _on_deletions(self) -> None:
        marked = await self._zk.get_children(paths.DELETE_TOPICS, watch=self._on_delete_event)
        self.deletion_waiting &= set(marked)
        for topic in marked:
            if topic in self.topics and self.reassign.in_progress(topic):  # Kafka: ineligible meanwhile
                if topic not in self.deletion_waiting:
                    log.info("controller %d: deletion of topic %s waits for its reassignments", self.broker_id, topic)
                self.deletion_waiting.add(topic)
            elif topic in self.topics:
                self.deletion_waiting.discard(topic)
                await self._delete_topic(topic)
            elif topic not in self.deleting:  # no such topic (or deleted already): drop the mark
                with contextlib.suppress(NoNodeError):
                    await self._zk.delete(paths.delete_topic_path(topic))

    async def resume_deletions(self) -> None:
        await self._on_deletions()

    async def _delete_topic(self, topic: str) -> None:
        keys = [key for key in self.partitions if key[0] == topic]
        assignment = self.topics.pop(topic)
        for key in keys:
            self.partitions[key].phase = partition_transition(self.partitions[key].phase, Phase.NON_EXISTENT)
        stops: dict[int, list[int]] = {}
        for _, index in keys:
            for replica in assignment.partitions[index].replicas:
                stops.setdefault(replica, []).append(index)
        for broker_id, indexes in stops.items():
            if broker_id in self.live:
                self._send_stop_replica(broker_id, topic, indexes)
        self._send_update_metadata(keys, deleted=True)
        for key in keys:
            del self.partitions[key]
        pending = {b: indexes for b, indexes in stops.items() if b not in self.live}
        if pending:  # as Kafka: the deletion completes once its dead replicas come back and delete too
            self.deleting[topic] = pending
            log.info(
                "controller %d: deletion of topic %s waits for broker(s) %s", self.broker_id, topic, sorted(pending)
            )
            return
        await self._finish_deletion(topic)

    async def _finish_deletion(self, topic: str) -> None:
        await self._delete_recursive(paths.topic_path(topic))
        with contextlib.suppress(NoNodeError):
            await self._zk.delete(paths.topic_config_path(topic))
        with contextlib.suppress(NoNodeError):
            await self._zk.delete(paths.delete_topic_path(topic))
        log.info("controller %d: deleted topic %s", self.broker_id, topic)

    def send_stop_replica(self, broker_id: int, topic: str, indexes: list[int], leader_epoch: int = -2) -> None:
        """StopReplica(delete) of ``topic``'s ``indexes`` to one live broker (-2: the topic is deleted)."""
        self._send_stop_replica(broker_id, topic, indexes, leader_epoch)

    def _send_stop_replica(self, broker_id: int, topic: str, indexes: list[int], leader_epoch: int = -2) -> None:
        assert self.epoch is not None
        request = StopReplicaRequest(
            controller_id=self.broker_id, controller_epoch=self.epoch.epoch,
            broker_epoch=self.live[broker_id].broker_epoch,
            topic_states=[StopReplicaTopicState(topic_name=topic, partition_states=[
                StopReplicaPartitionState(partition_index=i, leader_epoch=leader_epoch, delete_partition=True)
                for i in sorted(indexes)
            ])],
        )  # fmt: skip
        self._channel.send(broker_id, STOP_REPLICA, STOP_REPLICA_VERSION, request)

    async def _delete_recursive(self, path: str) -> None:
        for _ in range(5):
            try:
                for child in await self._zk.get_children(path):
                    await self._delete_recursive(f"{path}/{child}")
                await self._zk.delete(path)
                return
            except NoNodeError:
                return
            except NotEmptyError:
                continue

    # -- elections -----------------------------------------------------------------------------------------
    async def _elect(self, keys: Iterable[TopicPartition]) -> list[TopicPartition]:
        """Give ``keys`` the leader and ISR the live brokers allow; write what changed. Returns the
        partitions whose state changed."""
        assert self.epoch is not None
        epoch = self.epoch
        live = self.electable()
        keys = list(keys)
        unclean = await unclean_election_enabled(self._zk, self._config, [  # read only where it may matter
            k[0] for k in keys if (p := self.partitions.get(k)) is not None and p.state is not None
            and p.state.leader not in live and not any(r in live for r in p.state.isr)
        ])  # fmt: skip
        creates: dict[str, dict[int, PartitionState]] = {}
        changed: list[TopicPartition] = []
        updates: list[tuple[TopicPartition, _Partition, PartitionState]] = []
        for key in keys:
            partition = self.partitions.get(key)
            if partition is None:
                continue
            state = partition.state
            if state is None:
                chosen = initial_leader(partition.replicas, live)
                if chosen is None:
                    partition.phase = partition_transition(partition.phase, Phase.OFFLINE)
                    continue
                new_state = PartitionState(chosen[0], 0, tuple(chosen[1]), epoch.epoch)
                creates.setdefault(key[0], {})[key[1]] = new_state
                continue
            if state.leader in live and all(r in live for r in state.isr):
                self._set_phase(partition, Phase.ONLINE)
                continue
            if state.leader in live:  # a follower died: it leaves the ISR
                target = PartitionState(state.leader, state.leader_epoch + 1,
                                        tuple(r for r in state.isr if r in live), epoch.epoch)  # fmt: skip
            else:
                chosen = offline_partition_leader(partition.replicas, state.isr, live, unclean.get(key[0], False))
                if chosen is None:
                    if state.leader == NO_LEADER:
                        self._set_phase(partition, Phase.OFFLINE)
                        continue
                    # no eligible replica: offline, keeping the last ISR member (Kafka's rule)
                    target = PartitionState(NO_LEADER, state.leader_epoch + 1, state.isr[-1:], epoch.epoch)
                else:
                    warn_if_unclean(key[0], key[1], chosen[0], state.isr)
                    target = PartitionState(chosen[0], state.leader_epoch + 1, tuple(chosen[1]), epoch.epoch)
            updates.append((key, partition, target))
        written = await asyncio.gather(*(self._update(*update) for update in updates))  # pipelined
        changed += [key for (key, _, _), ok in zip(updates, written, strict=True) if ok]
        for topic, states in creates.items():
            created = await create_partition_states(self._zk, epoch, topic, states)
            if len(created) < len(states):  # some existed already: read them
                existing = await read_partition_states(self._zk, topic, [p for p in states if p not in created])
                for index, (state, version) in existing.items():
                    self.partitions[(topic, index)].state, self.partitions[(topic, index)].zk_version = state, version
            for index, version in created.items():
                partition = self.partitions[(topic, index)]
                partition.state, partition.zk_version = states[index], version
            for index in states:
                self._set_phase(self.partitions[(topic, index)], Phase.ONLINE)
                changed.append((topic, index))
        return changed

    async def _update(self, key: TopicPartition, partition: _Partition, target: PartitionState) -> bool:
        assert self.epoch is not None
        for _ in range(UPDATE_RETRIES):
            version = await update_partition_state(self._zk, self.epoch, key[0], key[1], target, partition.zk_version)
            if version is not None:
                partition.state, partition.zk_version = target, version
                self._set_phase(partition, Phase.ONLINE if target.leader >= 0 else Phase.OFFLINE)
                return True
            states = await read_partition_states(self._zk, key[0], [key[1]])  # another writer came first
            if key[1] not in states:
                return False
            partition.state, partition.zk_version = states[key[1]]
        log.error("controller: cannot write the state of %s-%d", *key)
        return False

    async def update_state(self, key: TopicPartition, partition: _Partition, target: PartitionState) -> bool:
        """Write ``target`` to the partition's state znode (zkVersion-checked, fenced); True if written."""
        return await self._update(key, partition, target)

    def send_leader_and_isr(self, replicas: Iterable[int], keys: list[TopicPartition]) -> None:
        """LeaderAndIsr of ``keys`` to the live brokers among ``replicas``."""
        self._send_leader_and_isr({b: self.live[b] for b in replicas if b in self.live}, keys)

    def send_update_metadata(self, keys: list[TopicPartition]) -> None:
        self._send_update_metadata(keys)

    def electable(self) -> set[int]:
        """Brokers that may lead or join an ISR: live and not in controlled shutdown."""
        return set(self.live) - self.shutting_down

    def send(self, broker_id: int, api: Any, version: int, body: Any) -> None:
        """A request to one broker over the controller's channel (other controller modules' requests)."""
        self._channel.send(broker_id, api, version, body)

    def replicas(self) -> dict[TopicPartition, Replicas]:
        """Each partition's assignment and state, for elections made elsewhere (``leader_balance``)."""
        return {key: Replicas(p.replicas, p.state) for key, p in self.partitions.items()}

    async def apply_states(self, states: dict[TopicPartition, PartitionState]) -> set[TopicPartition]:
        """Write new leader/ISR states (an election made elsewhere), tell the replicas (LeaderAndIsr) and
        every live broker (UpdateMetadata); returns the partitions whose state was written."""
        updates = [(key, self.partitions[key], state) for key, state in states.items() if key in self.partitions]
        written = await asyncio.gather(*(self._update(*update) for update in updates))
        changed = [key for (key, _, _), ok in zip(updates, written, strict=True) if ok]
        if changed:
            self._send_leader_and_isr(self.live, changed)
            self._send_update_metadata(changed)
        return set(changed)

    @staticmethod
    def _set_phase(partition: _Partition, target: Phase) -> None:
        try:
            partition.phase = partition_transition(partition.phase, target)
        except IllegalStateChange as exc:
            log.error("controller: %s", exc)

    # -- requests to brokers -----------------------------------------------------------------------------
    def _send_leader_and_isr(self, brokers: dict[int, LiveBroker], keys: list[TopicPartition]) -> None:
        assert self.epoch is not None
        listener = self._channel.listener
        leaders = []
        for broker in self.live.values():
            endpoint = broker.registration.endpoint(listener) or broker.registration.endpoints[0]
            host = endpoint.host or ""
            leaders.append(LeaderAndIsrLiveLeader(broker_id=broker.broker_id, host_name=host, port=endpoint.port))
        for broker_id, broker in brokers.items():
            topics: dict[str, LeaderAndIsrTopicState] = {}
            for key in keys:
                partition = self.partitions.get(key)
                if partition is None or partition.state is None or broker_id not in partition.replicas:
                    continue
                topic = topics.setdefault(
                    key[0], LeaderAndIsrTopicState(topic_name=key[0], topic_id=self._topic_id(key[0]))
                )
                state = partition.state
                topic.partition_states.append(LeaderAndIsrPartitionState(
                    partition_index=key[1], controller_epoch=state.controller_epoch, leader=state.leader,
                    leader_epoch=state.leader_epoch, isr=list(state.isr), partition_epoch=partition.zk_version,
                    replicas=list(partition.replicas), is_new=partition.zk_version == 0,
                ))  # fmt: skip
            if not topics:
                continue
            request = LeaderAndIsrRequest(
                controller_id=self.broker_id, controller_epoch=self.epoch.epoch, broker_epoch=broker.broker_epoch,
                topic_states=list(topics.values()), live_leaders=leaders,
            )  # fmt: skip
            self._channel.send(broker_id, LEADER_AND_ISR, LEADER_AND_ISR_VERSION, request)

    def _send_update_metadata(self, keys: list[TopicPartition], deleted: bool = False) -> None:
        assert self.epoch is not None
        brokers = []
        for broker in sorted(self.live.values(), key=lambda b: b.broker_id):
            registration = broker.registration
            brokers.append(UpdateMetadataBroker(
                id=broker.broker_id, rack=registration.rack,
                endpoints=[
                    UpdateMetadataEndpoint(port=e.port, host=e.host or "", listener=e.listener_name,
                                           security_protocol=SECURITY_PROTOCOLS.get(e.security_protocol, 0))
                    for e in registration.endpoints
                ],
            ))  # fmt: skip
        topics: dict[str, UpdateMetadataTopicState] = {}
        for key in keys:
            partition = self.partitions.get(key)
            if partition is None:
                continue
            topic = topics.setdefault(
                key[0], UpdateMetadataTopicState(topic_name=key[0], topic_id=self._topic_id(key[0]))
            )
            state = partition.state or PartitionState(NO_LEADER, 0, (), self.epoch.epoch)
            topic.partition_states.append(UpdateMetadataPartitionState(
                partition_index=key[1], controller_epoch=state.controller_epoch,
                leader=LEADER_DURING_DELETE if deleted else state.leader, leader_epoch=state.leader_epoch,
                isr=list(state.isr), zk_version=max(partition.zk_version, 0), replicas=list(partition.replicas),
                offline_replicas=[r for r in partition.replicas if r not in self.live],
            ))  # fmt: skip
        for broker_id, broker in self.live.items():
            request = UpdateMetadataRequest(
                controller_id=self.broker_id, controller_epoch=self.epoch.epoch, broker_epoch=broker.broker_epoch,
                topic_states=list(topics.values()), live_brokers=brokers,
            )  # fmt: skip
            self._channel.send(broker_id, UPDATE_METADATA, UPDATE_METADATA_VERSION, request)

    def _topic_id(self, topic: str) -> bytes:
        assignment = self.topics.get(topic)
        return assignment.topic_id.bytes if assignment is not None and assignment.topic_id is not None else bytes(16)

"""The embedded controller: a single broker with no ZooKeeper is the controller of a cluster of one.

It implements ``broker.controller.api.Controller``. Its store is ``broker.topics.TopicStore`` (the
log dir's ``kafkish-metadata.json``); what handlers see is the metadata cache, which it feeds with
``MetadataUpdate``s, the content of the UpdateMetadata requests a ZooKeeper controller would send: this
broker as the one live broker and the controller, and every partition led by its first replica with
every replica in sync.

Each change is one step on the event loop: the store changes in memory, the cache is updated and the
partitions hosted (or removed), with no await in between; the store's save to disk follows (in a
worker thread; if it fails the request gets KAFKA_STORAGE_ERROR, the change stays in effect, and the
save is retried every few seconds until it succeeds). Before that step:
- Creating topics or partitions makes their logs in worker threads first. Nothing is visible
  meanwhile; if making a log fails, nothing is published and the logs already made are removed. A
  crash before the step leaves partition directories no topic names: a later creation of that topic
  reuses them (as startup does). A name being created is taken (TOPIC_ALREADY_EXISTS to other
  creators; ``is_being_created`` lets Metadata answer LEADER_NOT_AVAILABLE).
- Deleting a topic renames its partition directories for deletion first (all or none); only then is
  the deletion published, so a deletion that failed on disk leaves the topic whole.
Operations on one topic name are serialised, and run to their end even if the request that started
them is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, TypeVar

from broker.config import BrokerConfig, ConfigError
from broker.controller.api import OngoingReassignment
from broker.controller.assignment import BrokerRack, check_replicas
from broker.controller.errors import ControllerError
from broker.controller.validation import (
    UNKNOWN_TOPIC,
    check_new_topic_name,
    check_topic_deletion,
    new_partition_replicas,
    new_topic_replicas,
)
from broker.dynamic_config import DynamicConfigStore
from broker.metadata_cache import (
    LEADER_DURING_DELETE,
    Endpoint,
    LiveBroker,
    MetadataCache,
    MetadataUpdate,
    PartitionState,
    TopicState,
    partition_states,
)
from broker.replica_manager import ReplicaManager
from broker.topics import TopicMetadata, TopicStore, new_topic_id
from protocol.errors import ErrorCode
from storage.errors import StorageError

log = logging.getLogger(__name__)
T = TypeVar("T")
SAVE_RETRY_S = 5.0


class EmbeddedController:
    def __init__(
        self, node_id: int, config: BrokerConfig, topics: TopicStore, replicas: ReplicaManager, cache: MetadataCache
    ) -> None:
        self.node_id = node_id
        self.config = config
        self.topics = topics
        self.replicas = replicas
        self.cache = cache
        self._broker = LiveBroker(node_id, (), config.get("broker.rack"))
        self._busy: dict[str, asyncio.Event] = {}  # topic names an async operation is working on
        self._creating: set[str] = set()  # new topics whose logs are being made (not yet published)
        self._retrying: asyncio.Task[None] | None = None  # saves again after a failed save
        self.dynamic_configs = DynamicConfigStore(os.path.dirname(topics.path))

    # -- the cluster of one --------------------------------------------------------------------------
    def start(self) -> None:
        """Load the dynamic broker configs, host every partition the store names (this broker leads
        them all) and publish them. A stored config this broker cannot apply is logged and left out
        (its default applies), so that it never stops the broker from starting."""
        self.dynamic_configs.load(self.config)
        for topic in list(self.topics.topics.values()):
            topic.configs = self.config.usable_topic_overrides(topic.name, topic.configs)
            for index in range(topic.partitions):
                self.replicas.become_leader(topic, index)
            self.cache.update_topic_configs(topic.name, topic.configs)
        self._publish(tuple(self._state(t) for t in self.topics.topics.values()), full=True)

    def register_endpoints(self, endpoints: Sequence[Endpoint]) -> None:
        """This broker's listeners, once bound (a ZooKeeper broker registers them in its znode)."""
        self._broker = replace(self._broker, endpoints=tuple(endpoints))
        self._publish(())

    def _brokers(self) -> list[BrokerRack]:
        return [BrokerRack(self._broker.id, self._broker.rack)]

    def _publish(self, topic_states: tuple[TopicState, ...], full: bool = False) -> None:
        self.cache.update_metadata(MetadataUpdate(self.node_id, (self._broker,), topic_states, full=full))

    @staticmethod
    def _state(topic: TopicMetadata, indexes: range | None = None) -> TopicState:
        return TopicState(topic.name, topic.topic_id, partition_states(topic.replicas, topic.leader_epochs, indexes))

    async def _save(self, what: str) -> None:
        try:
            await self.topics.save()
        except OSError as exc:
            log.error("cannot save topic metadata after %s: %s (retrying every %ss)", what, exc, SAVE_RETRY_S)
            self._retry_save_later()
            raise ControllerError(
                ErrorCode.KAFKA_STORAGE_ERROR, f"{what} is in effect but could not be saved to disk: {exc}"
            ) from exc

    def _retry_save_later(self) -> None:
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.get_running_loop().create_task(self._retry_save())

    async def _retry_save(self) -> None:
        while True:
            await asyncio.sleep(SAVE_RETRY_S)
            try:
                await self.topics.save()
            except OSError as exc:
                log.error("cannot save topic metadata: %s (retrying every %ss)", exc, SAVE_RETRY_S)
            else:
                log.info("topic metadata saved")
                return

    # -- validation ----------------------------------------------------------------------------------
    def check_topic_name(self, name: str) -> None:
        """A new topic's name: legal, not taken, not colliding with another's. Raises ControllerError."""
        check_new_topic_name(name, self.topics.topics, self._creating)

    def check_new_topic(
        self,
        name: str,
        num_partitions: int,
        replication_factor: int,
        assignment: Mapping[int, Sequence[int]] | None,
    ) -> list[list[int]]:
        """Validate a topic to be created; returns its replica assignment. Raises ControllerError.

        ``num_partitions`` and ``replication_factor`` of -1 mean the broker's defaults.
        """
        self.check_topic_name(name)
        return new_topic_replicas(self.config, self._brokers(), num_partitions, replication_factor, assignment)

    def check_new_partitions(
        self, name: str, count: int, assignment: Sequence[Sequence[int]] | None
    ) -> list[list[int]]:
        """Validate raising ``name`` to ``count`` partitions; returns the new partitions' replicas."""
        topic = self.topics.get(name)
        if topic is None:
            raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC)
        return new_partition_replicas(name, topic.replicas, count, assignment, self._brokers())

    def check_reassignment(self, name: str, partition: int, replicas: Sequence[int]) -> None:
        check_replicas(replicas, [b.id for b in self._brokers()])

    def is_being_created(self, name: str) -> bool:
        return name in self._creating

    # -- changes -------------------------------------------------------------------------------------
    async def create_topic(self, name: str, replicas: list[list[int]], configs: Mapping[str, Any]) -> bytes:
        """Create a topic (validated by ``check_new_topic``) without blocking the loop on disk work;
        see the module notes. Raises ControllerError (TOPIC_ALREADY_EXISTS if the name was taken
        meanwhile, KAFKA_STORAGE_ERROR if its logs cannot be made)."""
        return await _run_to_end(self._create_topic(name, replicas, dict(configs)))

    async def _create_topic(self, name: str, replicas: list[list[int]], configs: dict[str, Any]) -> bytes:
        async with self._claim(name):
            self.check_topic_name(name)
            topic = TopicMetadata(name, new_topic_id(), replicas, configs, [0] * len(replicas))
            self._creating.add(name)
            try:
                prepared = await self.replicas.prepare_leaders(topic, range(topic.partitions))
            except StorageError as exc:
                raise ControllerError(ErrorCode.KAFKA_STORAGE_ERROR, f"Cannot create topic '{name}': {exc}") from exc
            finally:
                self._creating.discard(name)
            # One step from here: the store, the cache, the partitions.
            self.topics.add(topic)
            self.cache.update_topic_configs(name, topic.configs)
            self._publish((self._state(topic),))
            self.replicas.lead(topic, prepared)
            log.info("created topic %s with %d partition(s)", name, topic.partitions)
            await self._save(f"the creation of topic {name}")
        return topic.topic_id

    async def create_partitions(self, name: str, count: int, assignment: Sequence[Sequence[int]] | None) -> None:
        """Raise ``name`` to ``count`` partitions without blocking the loop on disk work (checks as
        ``check_new_partitions``); see the module notes."""
        await _run_to_end(self._create_partitions(name, count, assignment))

    async def _create_partitions(self, name: str, count: int, assignment: Sequence[Sequence[int]] | None) -> None:
        async with self._claim(name):
            new = self.check_new_partitions(name, count, assignment)
            topic = self.topics.topics[name]
            first = topic.partitions
            try:
                prepared = await self.replicas.prepare_leaders(topic, range(first, count))
            except StorageError as exc:
                raise ControllerError(
                    ErrorCode.KAFKA_STORAGE_ERROR, f"Cannot create partitions of '{name}': {exc}"
                ) from exc
            if self.topics.get(name) is not topic:  # deleted (or deleted and re-created) meanwhile
                self.replicas.discard(prepared)
                raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC)
            self.topics.add_partitions(name, new)
            self._publish((self._state(topic, range(first, count)),))
            self.replicas.lead(topic, prepared)
            log.info("topic %s now has %d partition(s)", name, count)
            await self._save(f"new partitions of topic {name}")

    async def delete_topic(self, name: str) -> None:
        """Delete topic ``name``: its partition directories are renamed for deletion (all or none),
        then the deletion is published and the directories removed in a worker thread."""
        await _run_to_end(self._delete_topic(name))

    async def _delete_topic(self, name: str) -> None:
        check_topic_deletion(self.config, name)
        async with self._claim(name):
            topic = self.topics.get(name)
            if topic is None:
                raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC)
            log_manager = self.replicas.log_manager
            try:
                doomed = log_manager.delete_logs([(name, index) for index in range(topic.partitions)])
            except StorageError as exc:
                log.error("cannot delete topic %s: %s", name, exc)
                raise ControllerError(ErrorCode.KAFKA_STORAGE_ERROR, f"Cannot delete topic '{name}': {exc}") from exc
            # One step from here: the store, the cache, the partitions.
            self.topics.remove(name)
            gone = tuple(
                PartitionState(partition_index=i, leader=LEADER_DURING_DELETE, leader_epoch=0, isr=(), replicas=())
                for i in range(topic.partitions)
            )
            self._publish((TopicState(name, topic.topic_id, gone),))
            for index in range(topic.partitions):
                self.replicas.remove_partition(name, index, delete=True)  # its log is already gone
            log.info("deleted topic %s", name)
            await asyncio.to_thread(log_manager.remove_deleted_dirs, doomed)
            await self._save(f"the deletion of topic {name}")

    async def alter_topic_configs(self, name: str, overrides: Mapping[str, Any], validate_only: bool) -> None:
        topic = self.topics.get(name)
        if topic is None:
            raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist.")
        try:  # every value, and the log config they make together, before anything changes
            self.config.check_topic_configs(overrides)
        except ConfigError as exc:
            raise ControllerError(ErrorCode.INVALID_CONFIG, str(exc)) from None
        if validate_only:
            return
        self.topics.set_configs(name, dict(overrides))
        self.cache.update_topic_configs(name, topic.configs)
        self.replicas.update_config(topic)
        log.info("topic %s config overrides are now %s", name, topic.configs)
        await self._save(f"the new configs of topic {name}")

    async def alter_broker_configs(self, per_broker: bool, configs: Mapping[str, Any], validate_only: bool) -> None:
        """Make ``configs`` (parsed, names checked by ``broker.dynamic_config``) the whole set of dynamic
        configs of this broker (``per_broker``) or of the cluster default, after checking that every
        topic's log config stays valid with them; the topics' inherited configs change at once."""
        trial = replace(self.config, **{"dynamic_broker" if per_broker else "dynamic_default": dict(configs)})
        try:
            trial.check_topic_configs({})
            for topic in self.topics.topics.values():
                trial.check_topic_configs(topic.configs)
        except ConfigError as exc:
            raise ControllerError(ErrorCode.INVALID_CONFIG, str(exc)) from None
        if validate_only:
            return
        if per_broker:
            self.config.dynamic_broker = dict(configs)
        else:
            self.config.dynamic_default = dict(configs)
        for topic in self.topics.topics.values():
            self.replicas.update_config(topic)
        log.info(
            "dynamic configs of %s are now %s", "this broker" if per_broker else "the cluster default", dict(configs)
        )
        try:
            await self.dynamic_configs.save(self.config)
        except OSError as exc:
            log.error("cannot save the dynamic broker configs: %s", exc)
            raise ControllerError(
                ErrorCode.KAFKA_STORAGE_ERROR, f"the new broker configs are in effect but could not be saved: {exc}"
            ) from exc

    async def alter_partition_reassignments(
        self, wanted: Mapping[tuple[str, int], Sequence[int] | None]
    ) -> dict[tuple[str, int], ControllerError | None]:
        """As Kafka's KRaft controller on a cluster of one broker: nothing is ever in progress (a cancellation
        is NO_REASSIGNMENT_IN_PROGRESS) and the only valid target, the current replica set, completes at once."""
        out: dict[tuple[str, int], ControllerError | None] = {}
        for (name, index), replicas in wanted.items():
            topic = self.topics.get(name)
            try:
                if topic is None:
                    raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find a topic named {name}.")
                if not 0 <= index < topic.partitions:
                    raise ControllerError(
                        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find partition {name}:{index}."
                    )
                if replicas is None:
                    raise ControllerError(
                        ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No partition reassignment is in progress."
                    )
                self.check_reassignment(name, index, replicas)
                out[(name, index)] = None
            except ControllerError as exc:
                out[(name, index)] = exc
        return out

    async def list_partition_reassignments(
        self, wanted: Sequence[tuple[str, int]] | None
    ) -> dict[tuple[str, int], OngoingReassignment]:
        return {}

    async def elect_leaders(
        self, preferred: bool, partitions: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], ControllerError | None]:
        """On one broker the preferred replica leads every partition already, and no partition is
        without a leader: every existing partition gets ELECTION_NOT_NEEDED."""
        out: dict[tuple[str, int], ControllerError | None] = {}
        for name, index in partitions:
            topic = self.topics.get(name)
            if topic is None:
                out[(name, index)] = ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"No such topic as {name}")
            elif not 0 <= index < topic.partitions:
                out[(name, index)] = ControllerError(
                    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"No such partition as {name}-{index}"
                )
            else:
                out[(name, index)] = ControllerError(
                    ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."
                )
        return out

    @asynccontextmanager
    async def _claim(self, name: str) -> AsyncIterator[None]:
        """Serialise the async operations on one topic name."""
        while (busy := self._busy.get(name)) is not None:
            await busy.wait()
        done = self._busy[name] = asyncio.Event()
        try:
            yield
        finally:
            del self._busy[name]
            done.set()


async def _run_to_end(operation: Awaitable[T]) -> T:
    """Await ``operation`` in a task of its own, so that cancelling the caller (its client went away)
    does not stop it half way: a creation that started is finished."""
    task = asyncio.ensure_future(operation)
    task.add_done_callback(_retrieve)
    return await asyncio.shield(task)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("a controller operation whose caller had gone failed: %s", task.exception())

"""The embedded controller: a single broker is the controller of a cluster of one.

Topic metadata lives in the log dir (``broker.topics.TopicStore``).

Two ways to create topics and partitions:
- ``create_topic_async`` / ``create_partitions_async`` (the request handlers): the logs are made in
  worker threads first, then, back on the event loop and in one step, the metadata is persisted and
  published and the partitions hosted. Nothing is visible before that step; if making a log fails,
  nothing is published and the logs already made are removed. A crash before the step leaves
  partition directories no topic names: a later creation of that topic reuses them (as startup does).
  Operations on one topic name are serialised; a name being created is taken (TOPIC_ALREADY_EXISTS
  to other creators; ``is_being_created`` lets Metadata answer LEADER_NOT_AVAILABLE). The operation
  runs to its end even if the request that started it is cancelled.
- ``create_topic`` / ``create_partitions`` (for callers that cannot await): metadata is persisted
  first, then the logs are made on the spot, blocking the loop (a crash in between leaves metadata
  that startup completes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from broker.config import BrokerConfig
from broker.controller.errors import ControllerError
from broker.replica_manager import ReplicaManager
from broker.topics import InvalidTopic, TopicMetadata, TopicStore, new_topic_id, validate_topic_name
from protocol.errors import ErrorCode
from storage.errors import StorageError

log = logging.getLogger(__name__)
T = TypeVar("T")


class EmbeddedController:
    def __init__(self, node_id: int, config: BrokerConfig, topics: TopicStore, replicas: ReplicaManager) -> None:
        self.node_id = node_id
        self.config = config
        self.topics = topics
        self.replicas = replicas
        self._busy: dict[str, asyncio.Event] = {}  # topic names an async operation is working on
        self._creating: set[str] = set()  # new topics whose logs are being made (not yet published)

    @property
    def live_brokers(self) -> list[int]:
        return [self.node_id]

    def start(self) -> None:
        """Host every partition the metadata names (this broker leads them all)."""
        for topic in list(self.topics.topics.values()):
            for index in range(topic.partitions):
                self.replicas.become_leader(topic, index)

    def check_topic_name(self, name: str) -> None:
        """A new topic's name: legal, not taken, not colliding with another's. Raises ControllerError."""
        try:
            validate_topic_name(name)
        except InvalidTopic as exc:
            raise ControllerError(ErrorCode.INVALID_TOPIC_EXCEPTION, str(exc)) from None
        if name in self.topics.topics:
            raise ControllerError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
        if name in self._creating:
            raise ControllerError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' is being created.")
        collision = _collides(name, self.topics.topics)
        if collision is not None:
            raise ControllerError(
                ErrorCode.INVALID_TOPIC_EXCEPTION,
                f"Topic '{name}' collides with existing topic: {collision}",
            )

    def check_new_topic(
        self,
        name: str,
        num_partitions: int,
        replication_factor: int,
        assignment: Mapping[int, list[int]] | None,
    ) -> list[list[int]]:
        """Validate a topic to be created; returns its replica assignment. Raises ControllerError.

        ``num_partitions`` and ``replication_factor`` of -1 mean the broker's defaults.
        """
        self.check_topic_name(name)
        if assignment:
            return self._check_assignment(assignment, num_partitions, replication_factor)
        if replication_factor < -1 or replication_factor == 0:
            raise ControllerError(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                "Replication factor must be larger than 0, or -1 to use the default value.",
            )
        if num_partitions < -1 or num_partitions == 0:
            raise ControllerError(
                ErrorCode.INVALID_PARTITIONS, "Number of partitions was set to an invalid non-positive value."
            )
        if num_partitions == -1:
            num_partitions = self.config.get("num.partitions")
        if replication_factor == -1:
            replication_factor = self.config.get("default.replication.factor")
        brokers = self.live_brokers
        if replication_factor > len(brokers):
            raise ControllerError(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                f"Unable to replicate the partition {replication_factor} time(s): The target replication factor "
                f"of {replication_factor} cannot be reached because only {len(brokers)} broker(s) are registered.",
            )
        return [[brokers[(p + r) % len(brokers)] for r in range(replication_factor)] for p in range(num_partitions)]

    def _check_assignment(
        self, assignment: Mapping[int, list[int]], num_partitions: int, replication_factor: int
    ) -> list[list[int]]:
        """A manual assignment (partition -> brokers) as KRaft's controller checks it."""
        if replication_factor != -1:
            raise ControllerError(
                ErrorCode.INVALID_REQUEST,
                "A manual partition assignment was specified, but replication factor was not set to -1.",
            )
        if num_partitions != -1:
            raise ControllerError(
                ErrorCode.INVALID_REQUEST,
                "A manual partition assignment was specified, but numPartitions was not set to -1.",
            )
        factor: int | None = None
        for brokers in assignment.values():
            self.check_replicas(brokers, factor)
            factor = len(brokers)
        if sorted(assignment) != list(range(len(assignment))):
            raise ControllerError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partitions should be a consecutive 0-based integer sequence"
            )
        return [list(assignment[i]) for i in range(len(assignment))]

    def check_replicas(self, replicas: list[int], factor: int | None = None) -> list[int]:
        """A manual replica list (creation, new partitions, reassignment) as Kafka's controller checks it."""
        if not replicas:
            raise ControllerError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list."
            )
        previous = None
        for broker in sorted(replicas):
            if broker not in self.live_brokers:
                raise ControllerError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"The manual partition assignment includes broker {broker}, but no such broker is registered.",
                )
            if broker == previous:
                raise ControllerError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"The manual partition assignment includes the broker {broker} more than once.",
                )
            previous = broker
        if factor is not None and len(replicas) != factor:
            raise ControllerError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"The manual partition assignment includes a partition with {len(replicas)} replica(s), but this "
                f"is not consistent with previous partitions, which have {factor} replica(s).",
            )
        return list(replicas)

    def create_topic(self, name: str, replicas: list[list[int]], configs: dict[str, Any]) -> TopicMetadata:
        topic = TopicMetadata(name, new_topic_id(), replicas, dict(configs))
        self.topics.add(topic)
        config = self.replicas.log_config(topic)
        for index in range(topic.partitions):
            self.replicas.become_leader(topic, index, config)
        log.info("created topic %s with %d partition(s)", name, topic.partitions)
        return topic

    def is_being_created(self, name: str) -> bool:
        return name in self._creating

    async def create_topic_async(self, name: str, replicas: list[list[int]], configs: dict[str, Any]) -> TopicMetadata:
        """Create a topic (validated by ``check_new_topic``) without blocking the loop on disk work;
        see the module notes. Raises ControllerError (TOPIC_ALREADY_EXISTS if the name was taken
        meanwhile, KAFKA_STORAGE_ERROR if its logs cannot be made)."""
        return await _run_to_end(self._create_topic(name, replicas, configs))

    async def _create_topic(self, name: str, replicas: list[list[int]], configs: dict[str, Any]) -> TopicMetadata:
        async with self._claim(name):
            self.check_topic_name(name)
            topic = TopicMetadata(name, new_topic_id(), replicas, dict(configs), [0] * len(replicas))
            self._creating.add(name)
            try:
                prepared = await self.replicas.prepare_leaders(topic, range(topic.partitions))
            except StorageError as exc:
                raise ControllerError(ErrorCode.KAFKA_STORAGE_ERROR, f"Cannot create topic '{name}': {exc}") from exc
            finally:
                self._creating.discard(name)
            # One step from here: persist and publish the metadata, host the partitions.
            try:
                self.topics.add(topic)
            except BaseException:
                self.replicas.discard(prepared)
                raise
            self.replicas.lead(topic, prepared)
        log.info("created topic %s with %d partition(s)", name, topic.partitions)
        return topic

    def delete_topic(self, name: str) -> TopicMetadata:
        if not self.config.get("delete.topic.enable"):
            raise ControllerError(ErrorCode.TOPIC_DELETION_DISABLED, "Topic deletion is disabled.")
        topic = self.topics.get(name)
        if topic is None:
            raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic.")
        self.topics.remove(name)
        for index in range(topic.partitions):
            self.replicas.remove_partition(name, index, delete=True)
        log.info("deleted topic %s", name)
        return topic

    def check_new_partitions(self, name: str, count: int, assignment: list[list[int]] | None) -> list[list[int]]:
        """Validate raising ``name`` to ``count`` partitions; returns the new partitions' replicas."""
        topic = self.topics.get(name)
        if topic is None:
            raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic.")
        if count < topic.partitions:
            raise ControllerError(
                ErrorCode.INVALID_PARTITIONS,
                f"The topic {name} currently has {topic.partitions} partition(s); {count} would not be an increase.",
            )
        if count == topic.partitions:
            raise ControllerError(ErrorCode.INVALID_PARTITIONS, f"Topic already has {topic.partitions} partition(s).")
        added = count - topic.partitions
        if assignment is not None:
            if len(assignment) != added:
                raise ControllerError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"Attempted to add {added} additional partition(s), but only {len(assignment)} assignment(s) "
                    "were specified.",
                )
            factor = len(topic.replicas[0]) if topic.replicas else None
            new = [self.check_replicas(replicas, factor) for replicas in assignment]
            return new
        factor = len(topic.replicas[0]) if topic.replicas else 1
        brokers = self.live_brokers
        return [[brokers[(p + r) % len(brokers)] for r in range(factor)] for p in range(topic.partitions, count)]

    def create_partitions(self, name: str, count: int, assignment: list[list[int]] | None) -> TopicMetadata:
        new = self.check_new_partitions(name, count, assignment)
        topic = self.topics.topics[name]
        start = topic.partitions
        self.topics.add_partitions(name, new)
        for index in range(start, count):
            self.replicas.become_leader(topic, index)
        log.info("topic %s now has %d partition(s)", name, count)
        return topic

    async def create_partitions_async(self, name: str, count: int, assignment: list[list[int]] | None) -> TopicMetadata:
        """Raise ``name`` to ``count`` partitions without blocking the loop on disk work (checks as
        ``check_new_partitions``); see the module notes."""
        return await _run_to_end(self._create_partitions(name, count, assignment))

    async def _create_partitions(self, name: str, count: int, assignment: list[list[int]] | None) -> TopicMetadata:
        async with self._claim(name):
            new = self.check_new_partitions(name, count, assignment)
            topic = self.topics.topics[name]
            try:
                prepared = await self.replicas.prepare_leaders(topic, range(topic.partitions, count))
            except StorageError as exc:
                raise ControllerError(
                    ErrorCode.KAFKA_STORAGE_ERROR, f"Cannot create partitions of '{name}': {exc}"
                ) from exc
            if self.topics.get(name) is not topic:  # deleted (or deleted and re-created) meanwhile
                self.replicas.discard(prepared)
                raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic.")
            try:
                self.topics.add_partitions(name, new)
            except BaseException:
                self.replicas.discard(prepared)
                raise
            self.replicas.lead(topic, prepared)
        log.info("topic %s now has %d partition(s)", name, count)
        return topic

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

    def set_topic_configs(self, name: str, configs: dict[str, Any]) -> None:
        topic = self.topics.get(name)
        if topic is None:
            raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic.")
        self.topics.set_configs(name, configs)
        self.replicas.update_config(topic)
        log.info("topic %s config overrides are now %s", name, configs)


async def _run_to_end(operation: Awaitable[T]) -> T:
    """Await ``operation`` in a task of its own, so that cancelling the caller (its client went away)
    does not stop it half way: a creation that started is finished."""
    task = asyncio.ensure_future(operation)
    task.add_done_callback(_retrieve)
    return await asyncio.shield(task)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("a controller operation whose caller had gone failed: %s", task.exception())


def _collides(name: str, existing: Mapping[str, TopicMetadata]) -> str | None:
    """Kafka refuses topics whose names differ only in '.' versus '_' (they collide in metric names)."""
    folded = name.replace(".", "_")
    for other in existing:
        if other != name and other.replace(".", "_") == folded:
            return other
    return None

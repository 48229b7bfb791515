"""``ZkAdmin``: the Controller interface (``broker.controller.api``) of a broker in cluster mode.

Any broker answers admin requests the way Kafka's ZooKeeper-era brokers do (AdminZkClient): it writes
the change to ZooKeeper, the controller acts on it, and the answer comes once this broker's metadata
cache shows the result (as Kafka's CreateTopics waits in its purgatory for the partitions' leaders):

- create: /config/topics/<t> then /brokers/topics/<t> (the assignment and a new topic id), a
  conditional create: a topic there already is TOPIC_ALREADY_EXISTS. Replication factor above the
  live brokers is INVALID_REPLICATION_FACTOR (``validation``, over the cache's live brokers). Done when
  every partition has a leader here; REQUEST_TIMED_OUT after ``ANSWER_TIMEOUT_S``.
- delete: the mark /admin/delete_topics/<t>; done when the topic has left the cache.
- create partitions: /brokers/topics/<t> rewritten with the new partitions, conditional on its version.
- topic configs: /config/topics/<t>, then a /config/changes/config_change_ notification every broker
  follows (``node.ZkBrokerNode``); this broker applies them at once too.
Names being created through this broker are taken meanwhile (``is_being_created``). ``__consumer_offsets``
gets ``offsets.topic.replication.factor`` replicas, never fewer: with fewer live brokers its creation
fails (INVALID_REPLICATION_FACTOR, which the group coordinator answers as COORDINATOR_NOT_AVAILABLE),
as in Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from broker.config import BrokerConfig, ConfigError
from broker.config_defs import TOPIC_CONFIGS
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
from broker.metadata_cache import MetadataCache
from broker.topics import new_topic_id
from protocol.errors import ErrorCode
from storage.config import LogConfig
from storage.errors import StorageError

from . import paths
from .client import ZkClient
from .controller import ZkController
from .topics import TopicExists, create_topic
from .znodes import (
    ReplicaAssignment,
    TopicAssignment,
    decode_topic_assignment,
    encode_config_change,
    encode_entity_config,
    encode_topic_assignment,
)

log = logging.getLogger(__name__)
ANSWER_TIMEOUT_S = 30.0
POLL_S = 0.01


def render_configs(overrides: Mapping[str, Any]) -> dict[str, str]:
    """Typed topic overrides as the strings ZooKeeper keeps."""
    out: dict[str, str] = {}
    for name, value in overrides.items():
        rendered = TOPIC_CONFIGS[name].render(value) if name in TOPIC_CONFIGS else str(value)
        if rendered is not None:
            out[name] = rendered
    return out


class ZkAdmin:
    def __init__(
        self,
        zk: ZkClient,
        config: BrokerConfig,
        cache: MetadataCache,
        apply_configs: Callable[[str, dict[str, Any]], None],
        controller: Callable[[], ZkController | None] = lambda: None,
    ) -> None:
        """``apply_configs(topic, overrides)``: this broker takes a topic's new overrides at once;
        ``controller()``: this broker's controller (elections run on it while it holds /controller)."""
        self._zk = zk
        self.config = config
        self.cache = cache
        self._apply_configs = apply_configs
        self._creating: set[str] = set()
        self._controller = controller

    def _brokers(self) -> list[BrokerRack]:
        return [BrokerRack(b.id, b.rack) for b in self.cache.alive_brokers()]

    # -- validation ----------------------------------------------------------------------------------
    def is_being_created(self, name: str) -> bool:
        return name in self._creating

    def check_topic_name(self, name: str) -> None:
        check_new_topic_name(name, self.cache.topics, self._creating)

    def check_new_topic(
        self, name: str, num_partitions: int, replication_factor: int, assignment: Mapping[int, Sequence[int]] | None
    ) -> list[list[int]]:
        self.check_topic_name(name)
        return new_topic_replicas(self.config, self._brokers(), num_partitions, replication_factor, assignment)

    def check_new_partitions(
        self, name: str, count: int, assignment: Sequence[Sequence[int]] | None
    ) -> list[list[int]]:
        image = self.cache.topic(name)
        if image is None:
            raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC)
        current = [list(p.replicas) for p in image.partitions.values()]
        return new_partition_replicas(name, current, count, assignment, self._brokers())

    def check_reassignment(self, name: str, partition: int, replicas: Sequence[int]) -> None:
        check_replicas(replicas, [b.id for b in self._brokers()])

    # -- changes -------------------------------------------------------------------------------------
    async def create_topic(self, name: str, replicas: list[list[int]], configs: Mapping[str, Any]) -> bytes:
        topic_id = new_topic_id()
        assignment = TopicAssignment(
            {i: ReplicaAssignment(tuple(r)) for i, r in enumerate(replicas)}, uuid.UUID(bytes=topic_id)
        )
        self._creating.add(name)
        try:
            await create_topic(self._zk, name, assignment, render_configs(configs))
            await self._until(lambda: self._has_leaders(name, len(replicas)), f"the leaders of {name}")
        except TopicExists as exc:
            raise ControllerError(ErrorCode.TOPIC_ALREADY_EXISTS, str(exc)) from None
        finally:
            self._creating.discard(name)
        log.info("created topic %s with %d partition(s)", name, len(replicas))
        image = self.cache.topic(name)
        return image.topic_id if image is not None else topic_id

    async def delete_topic(self, name: str) -> None:
        check_topic_deletion(self.config, name)
        if self.cache.topic(name) is None:
            raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC)
        with contextlib.suppress(NodeExistsError):
            await self._zk.create(paths.delete_topic_path(name))
        await self._until(lambda: self.cache.topic(name) is None, f"topic {name} to be deleted")

    async def create_partitions(self, name: str, count: int, assignment: Sequence[Sequence[int]] | None) -> None:
        new = self.check_new_partitions(name, count, assignment)
        try:
            data, stat = await self._zk.get(paths.topic_path(name))
        except NoNodeError:
            raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC) from None
        current = decode_topic_assignment(name, data)
        if any(a.adding_replicas or a.removing_replicas for a in current.partitions.values()):
            raise ControllerError(  # Kafka's guard against racing the controller's reassignment writes
                ErrorCode.REASSIGNMENT_IN_PROGRESS, f"A partition reassignment is in progress for the topic '{name}'."
            )
        first = len(current.partitions)
        partitions = dict(current.partitions)
        partitions.update({first + i: ReplicaAssignment(tuple(r)) for i, r in enumerate(new)})
        try:
            await self._zk.set(
                paths.topic_path(name), encode_topic_assignment(TopicAssignment(partitions, current.topic_id)),
                stat.version,
            )  # fmt: skip
        except BadVersionError:
            raise ControllerError(
                ErrorCode.REASSIGNMENT_IN_PROGRESS, f"Topic {name} changed meanwhile; try again."
            ) from None
        await self._until(lambda: self._has_leaders(name, first + len(new)), f"the new partitions of {name}")

    async def alter_topic_configs(self, name: str, overrides: Mapping[str, Any], validate_only: bool) -> None:
        if self.cache.topic(name) is None:
            raise ControllerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist.")
        try:
            LogConfig.from_props(self.config.topic_values(overrides))
        except StorageError as exc:
            raise ControllerError(ErrorCode.INVALID_CONFIG, str(exc)) from None
        if validate_only:
            return
        data = encode_entity_config(render_configs(overrides))
        try:
            await self._zk.set(paths.topic_config_path(name), data)
        except NoNodeError:
            await self._zk.ensure_path(paths.CONFIG + "/topics")
            await self._zk.create(paths.topic_config_path(name), data)
        await self._zk.create(paths.config_change_prefix(), encode_config_change(f"topics/{name}"), sequence=True)
        self._apply_configs(name, dict(overrides))

    async def alter_broker_configs(self, per_broker: bool, configs: Mapping[str, Any], validate_only: bool) -> None:
        """Kafka's ZooKeeper layout: ``/config/brokers/<id>`` (or ``<default>``) and a ``brokers/...``
        change notification, which every broker follows (``broker_configs``; this one too, which is how
        its topics take inherited log configs). This broker's config takes them at once."""
        trial = dataclasses.replace(
            self.config, **{"dynamic_broker" if per_broker else "dynamic_default": dict(configs)}
        )
        try:
            trial.check_topic_configs({})
        except ConfigError as exc:
            raise ControllerError(ErrorCode.INVALID_CONFIG, str(exc)) from None
        if validate_only:
            return
        entity = str(self.config.node_id) if per_broker else "<default>"
        data = encode_entity_config(render_configs(configs))
        try:
            await self._zk.set(paths.broker_config_path(entity), data)
        except NoNodeError:
            await self._zk.ensure_path(paths.CONFIG + "/brokers")
            await self._zk.create(paths.broker_config_path(entity), data)
        await self._zk.create(paths.config_change_prefix(), encode_config_change(f"brokers/{entity}"), sequence=True)
        if per_broker:
            self.config.dynamic_broker = dict(configs)
        else:
            self.config.dynamic_default = dict(configs)
        log.info("dynamic configs of broker entity %s are now %s", entity, dict(configs))

    async def alter_partition_reassignments(
        self, wanted: Mapping[tuple[str, int], Sequence[int] | None]
    ) -> dict[tuple[str, int], ControllerError | None]:
        """As Kafka 2.4+: the controller reassigns (``reassignment``); another broker answers NOT_CONTROLLER
        for the whole request. Answered once the controller has started (or completed) each one."""
        return await self._active_controller().reassign.alter(wanted)

    async def list_partition_reassignments(
        self, wanted: Sequence[tuple[str, int]] | None
    ) -> dict[tuple[str, int], OngoingReassignment]:
        ongoing = self._active_controller().reassign.ongoing(wanted)
        return {
            key: OngoingReassignment(a.replicas, a.adding_replicas, a.removing_replicas) for key, a in ongoing.items()
        }

    def _active_controller(self) -> ZkController:
        controller = self._controller()
        if controller is None or controller.epoch is None:
            raise ControllerError(ErrorCode.NOT_CONTROLLER, "This is not the correct controller for this cluster.")
        return controller

    async def elect_leaders(
        self, preferred: bool, partitions: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], ControllerError | None]:
        """As Kafka 2.4+: the controller elects (``leader_balance``, on its event queue); a broker that is
        not the controller answers NOT_CONTROLLER for each partition (clients send ElectLeaders to the
        controller). Done once this broker's metadata shows the new leaders."""
        controller = self._controller()
        if controller is None or controller.epoch is None:
            error = ControllerError(ErrorCode.NOT_CONTROLLER, "This is not the correct controller for this cluster.")
            return dict.fromkeys(partitions, error)
        try:
            outcome = await asyncio.wait_for(controller.balance.elect(preferred, partitions), ANSWER_TIMEOUT_S)
        except TimeoutError:
            error = ControllerError(ErrorCode.REQUEST_TIMED_OUT, "Timed out waiting for the controller.")
            return dict.fromkeys(partitions, error)
        elected = {key: leader for key, leader in outcome.items() if isinstance(leader, int)}

        def visible() -> bool:
            return all(
                (state := self.cache.partition(t, p)) is not None and state.leader == leader
                for (t, p), leader in elected.items()
            )

        try:
            await self._until(visible, "the new leaders")
        except ControllerError as exc:  # elected, but not yet seen here: Kafka's DelayedElectLeader times out
            return {key: (exc if isinstance(result, int) else result) for key, result in outcome.items()}
        return {key: (None if isinstance(result, int) else result) for key, result in outcome.items()}

    # -- waiting for the controller ---------------------------------------------------------------------
    def _has_leaders(self, name: str, count: int) -> bool:
        image = self.cache.topic(name)
        return (
            image is not None
            and len(image.partitions) >= count
            and all(p.leader >= 0 for p in image.partitions.values())
        )

    async def _until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while not condition():
            if time.monotonic() > deadline:
                raise ControllerError(ErrorCode.REQUEST_TIMED_OUT, f"Timed out waiting for {what}.")
            await asyncio.sleep(POLL_S)

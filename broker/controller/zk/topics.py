"""Topics in ZooKeeper, as Kafka's AdminZkClient and controller keep them.

- ``create_topic``: what an admin request does in ZooKeeper mode: /config/topics/<t> first (so the
  controller finds the configs when it sees the topic), then /brokers/topics/<t>; ``TopicExists`` if
  the topic is there already (Kafka's "Topic 't' already exists.").
- ``read_topics`` / ``read_partition_states``: what a new controller reads. A znode that cannot be
  decoded is logged and left out, never fatal.
- ``create_partition_states`` / ``update_partition_state``: the controller's writes of
  /brokers/topics/<t>/partitions/<p>/state, each fenced by its epoch (``election.fenced_multi``).
  An update is conditional on the state znode's version, as Kafka's updateLeaderAndIsr: ``None``
  means another writer (a partition leader changing the ISR) came first and the caller re-reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from . import paths
from .client import ZkClient
from .election import ControllerEpoch, fenced_multi
from .znodes import (
    PartitionState,
    ReplicaAssignment,
    TopicAssignment,
    ZnodeDataError,
    decode_partition_state,
    decode_topic_assignment,
    encode_entity_config,
    encode_partition_state,
    encode_topic_assignment,
)

log = logging.getLogger(__name__)


class TopicExists(Exception):
    pass


async def create_topic(zk: ZkClient, topic: str, assignment: TopicAssignment, config: Mapping[str, str]) -> None:
    if await zk.exists(paths.topic_path(topic)) is not None:
        raise TopicExists(f"Topic '{topic}' already exists.")
    config_path = paths.topic_config_path(topic)
    await zk.ensure_path(paths.CONFIG + "/topics")
    try:
        await zk.create(config_path, encode_entity_config(config))
    except NodeExistsError:  # left by an earlier attempt or deletion: overwrite, as Kafka does
        await zk.set(config_path, encode_entity_config(config))
    await zk.ensure_path(paths.TOPICS)
    try:
        await zk.create(paths.topic_path(topic), encode_topic_assignment(assignment))
    except NodeExistsError:
        raise TopicExists(f"Topic '{topic}' already exists.") from None


async def read_topics(zk: ZkClient) -> dict[str, TopicAssignment]:
    """Every topic's replica assignment; topics being deleted are included (see /admin/delete_topics)."""
    try:
        names = await zk.get_children(paths.TOPICS)
    except NoNodeError:
        return {}
    topics: dict[str, TopicAssignment] = {}
    for topic in sorted(names):
        try:
            data, _ = await zk.get(paths.topic_path(topic))
            topics[topic] = decode_topic_assignment(topic, data)
        except NoNodeError:
            continue
        except ZnodeDataError as e:
            log.error("Leaving topic %s out: %s", topic, e)
    return topics


async def read_partition_states(
    zk: ZkClient, topic: str, partitions: list[int]
) -> dict[int, tuple[PartitionState, int]]:
    """Per partition with a readable state znode: the state and the znode's version. The reads are
    pipelined on the session (a new controller reads thousands)."""

    async def read(partition: int) -> tuple[PartitionState, int] | None:
        try:
            data, stat = await zk.get(paths.partition_state_path(topic, partition))
            return decode_partition_state(topic, partition, data), int(stat.version)
        except NoNodeError:
            return None
        except ZnodeDataError as e:
            log.error("Leaving partition %s-%d's state out: %s", topic, partition, e)
            return None

    found = await asyncio.gather(*(read(p) for p in partitions))
    return {p: state for p, state in zip(partitions, found, strict=True) if state is not None}


async def create_partition_states(
    zk: ZkClient, epoch: ControllerEpoch, topic: str, states: Mapping[int, PartitionState]
) -> dict[int, int]:
    """Create the state znodes of new partitions (ControllerMoved if ``epoch`` is stale). Returns the
    version of each one created; a partition whose state exists already is left out."""
    with contextlib.suppress(NodeExistsError):
        await fenced_multi(zk, epoch, _create(paths.topic_partitions_path(topic), b""))

    async def create_parent(partition: int) -> None:
        with contextlib.suppress(NodeExistsError):
            await fenced_multi(zk, epoch, _create(paths.partition_path(topic, partition), b""))

    await asyncio.gather(*(create_parent(p) for p in states))

    async def create(partition: int, state: PartitionState) -> bool:
        path, data = paths.partition_state_path(topic, partition), encode_partition_state(state)
        try:
            await fenced_multi(zk, epoch, _create(path, data))
        except NodeExistsError:
            return False
        return True

    made = await asyncio.gather(*(create(p, s) for p, s in states.items()))
    return {p: 0 for p, ok in zip(states, made, strict=True) if ok}


async def update_partition_state(
    zk: ZkClient, epoch: ControllerEpoch, topic: str, partition: int, state: PartitionState, zk_version: int
) -> int | None:
    """Write ``state`` if the znode still has ``zk_version``: its new version, or None if it moved on."""
    path, data = paths.partition_state_path(topic, partition), encode_partition_state(state)
    try:
        [stat] = await fenced_multi(zk, epoch, lambda t: t.set_data(path, data, zk_version))
    except BadVersionError:
        return None
    return int(stat.version)


async def update_topic_assignment(
    zk: ZkClient, epoch: ControllerEpoch, topic: str, changes: Mapping[int, ReplicaAssignment]
) -> TopicAssignment | None:
    """Rewrite /brokers/topics/<t> with ``changes`` to some partitions' replica assignments (a reassignment),
    keeping everything else as ZooKeeper holds it (partitions added meanwhile too): conditional on the
    znode's version, retried when another writer came first, fenced by ``epoch``. The new assignment, or
    None if the topic's znode is gone."""
    path = paths.topic_path(topic)
    while True:
        try:
            data, stat = await zk.get(path)
        except NoNodeError:
            return None
        current = decode_topic_assignment(topic, data)
        assignment = TopicAssignment({**current.partitions, **changes}, current.topic_id)
        encoded = encode_topic_assignment(assignment)
        try:
            await fenced_multi(zk, epoch, set_data(path, encoded, stat.version))
        except BadVersionError:
            continue
        except NoNodeError:
            return None
        return assignment


def set_data(path: str, data: bytes, version: int) -> Callable[[Any], object]:
    return lambda transaction: transaction.set_data(path, data, version)


def delete(path: str, version: int = -1) -> Callable[[Any], object]:
    return lambda transaction: transaction.delete(path, version)


def _create(path: str, data: bytes) -> Callable[[Any], object]:
    return lambda transaction: transaction.create(path, data)

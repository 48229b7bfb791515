"""Topics and partition states in a real ZooKeeper, written the way Kafka's admin client and controller
write them, read back the way a new controller reads them."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

import pytest

from broker.controller.zk import paths
from broker.controller.zk.client import ZkClient
from broker.controller.zk.election import ControllerEpoch, ControllerMoved, ZkControllerElection
from broker.controller.zk.topics import (
    TopicExists,
    create_partition_states,
    create_topic,
    read_partition_states,
    read_topics,
    update_partition_state,
)
from broker.controller.zk.znodes import PartitionState, ReplicaAssignment, TopicAssignment
from tests.cluster.support import SESSION_MS, until


def run(test: Callable[[], Awaitable[None]], timeout_s: float = 60) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout_s))


ASSIGNMENT = TopicAssignment({0: ReplicaAssignment((1, 0, 2)), 1: ReplicaAssignment((0, 2, 1))})


def test_create_topic_writes_kafkas_znodes_once(zk_connect: str, caplog: pytest.LogCaptureFixture) -> None:
    async def test() -> None:
        zk = ZkClient(zk_connect, SESSION_MS)
        await zk.start()
        try:
            await create_topic(zk, "t", ASSIGNMENT, {"cleanup.policy": "compact", "retention.ms": "1000"})
            config, _ = await zk.get(paths.topic_config_path("t"))
            assert config == b'{"version":1,"config":{"cleanup.policy":"compact","retention.ms":"1000"}}'
            assignment, _ = await zk.get(paths.topic_path("t"))
            assert assignment == (
                b'{"version":2,"partitions":{"0":[1,0,2],"1":[0,2,1]},"adding_replicas":{},"removing_replicas":{}}'
            )
            with pytest.raises(TopicExists, match=r"^Topic 't' already exists\.$"):
                await create_topic(zk, "t", ASSIGNMENT, {})

            topic_id = uuid.uuid4()
            await create_topic(zk, "with-id", TopicAssignment({0: ReplicaAssignment((2,))}, topic_id), {})
            await zk.create(paths.topic_path("broken"), b'{"version":2,"partitions":{"zero":[1]}}')
            topics = await read_topics(zk)
            assert topics == {"t": ASSIGNMENT, "with-id": TopicAssignment({0: ReplicaAssignment((2,))}, topic_id)}
            assert "Leaving topic broken out: malformed znode /brokers/topics/broken" in caplog.text
        finally:
            await zk.close()

    with caplog.at_level(logging.ERROR, logger="broker.controller.zk.topics"):
        run(test)


def test_the_controller_creates_and_updates_partition_states_under_its_epoch(zk_connect: str) -> None:
    async def test() -> None:
        zk = ZkClient(zk_connect, SESSION_MS)
        await zk.start()
        election = ZkControllerElection(zk, 1)
        try:
            await create_topic(zk, "t", ASSIGNMENT, {})
            await election.start()
            await until(lambda: election.is_controller, what="the controller")
            epoch = election.epoch
            assert epoch is not None
            states = {0: PartitionState(1, 0, (1, 0, 2), epoch.epoch), 1: PartitionState(0, 0, (0, 2, 1), epoch.epoch)}
            assert await create_partition_states(zk, epoch, "t", states) == {0: 0, 1: 0}
            assert await create_partition_states(zk, epoch, "t", states) == {}  # there already
            assert await read_partition_states(zk, "t", [0, 1, 2]) == {0: (states[0], 0), 1: (states[1], 0)}
            data, _ = await zk.get(paths.partition_state_path("t", 0))
            assert data == b'{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,0,2]}'

            shrunk = PartitionState(1, 1, (1,), epoch.epoch)
            assert await update_partition_state(zk, epoch, "t", 0, shrunk, 0) == 1
            assert await update_partition_state(zk, epoch, "t", 0, shrunk, 0) is None  # someone else was first
            assert (await read_partition_states(zk, "t", [0]))[0] == (shrunk, 1)

            stale = ControllerEpoch(epoch.epoch - 1, epoch.epoch_zk_version - 1)
            with pytest.raises(ControllerMoved):
                await update_partition_state(zk, stale, "t", 0, PartitionState(2, 9, (2,), 0), 1)
            with pytest.raises(ControllerMoved):
                await create_partition_states(zk, stale, "u", {0: PartitionState(2, 0, (2,), 0)})
            assert await zk.exists(paths.topic_partitions_path("u")) is None
        finally:
            await election.close()
            await zk.close()

    run(test)

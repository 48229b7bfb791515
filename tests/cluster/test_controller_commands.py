"""What a cluster-mode broker does with its controller's requests (in process: a real ReplicaManager
over real log files, requests as the controller sends them)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from broker.config import BrokerConfig
from broker.controller.commands import ControllerCommands
from broker.controller.errors import ControllerError
from broker.metadata_cache import MetadataCache
from broker.replica_manager import ReplicaManager
from protocol.errors import ErrorCode
from protocol.messages.leader_and_isr import LeaderAndIsrPartitionState, LeaderAndIsrRequest, LeaderAndIsrTopicState
from protocol.messages.stop_replica import StopReplicaPartitionState, StopReplicaRequest, StopReplicaTopicState
from protocol.messages.update_metadata import (
    UpdateMetadataBroker,
    UpdateMetadataEndpoint,
    UpdateMetadataPartitionState,
    UpdateMetadataRequest,
    UpdateMetadataTopicState,
)
from storage.manager import LogManager

TOPIC_ID = bytes(range(1, 17))
BROKER_EPOCH = 40


class Listener:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, int]] = []

    def on_elected(self, partition: int, leader_epoch: int) -> None:
        self.events.append(("elected", partition, leader_epoch))

    def on_resigned(self, partition: int, leader_epoch: int) -> None:
        self.events.append(("resigned", partition, leader_epoch))


def setup(tmp_path: Path) -> tuple[ControllerCommands, ReplicaManager, MetadataCache, LogManager]:
    logs = str(tmp_path / "logs")
    config = BrokerConfig.from_properties({"log.dirs": logs})
    log_manager = LogManager([logs])
    log_manager.startup()
    cache = MetadataCache(1, "cluster")
    replicas = ReplicaManager(1, config, log_manager, cache)

    async def configs(topic: str) -> Mapping[str, Any]:
        return {"retention.ms": 1234}

    commands = ControllerCommands(1, replicas, cache, lambda: BROKER_EPOCH, lambda: 0, configs)
    return commands, replicas, cache, log_manager


def leader_and_isr(topic: str, states: list[tuple[int, int, int]], epoch: int = 3, controller: int = 0,
                   broker_epoch: int = BROKER_EPOCH) -> LeaderAndIsrRequest:  # fmt: skip
    """``states``: (partition, leader, leader epoch), replicas [0, 1, 2]."""
    return LeaderAndIsrRequest(
        controller_id=controller, controller_epoch=epoch, broker_epoch=broker_epoch,
        topic_states=[LeaderAndIsrTopicState(topic_name=topic, topic_id=TOPIC_ID, partition_states=[
            LeaderAndIsrPartitionState(partition_index=p, controller_epoch=epoch, leader=leader, leader_epoch=le,
                                       isr=[0, 1, 2], replicas=[0, 1, 2])
            for p, leader, le in states
        ])],
    )  # fmt: skip


def test_leader_and_isr_hosts_partitions_as_leader_or_follower_and_tells_coordinators(tmp_path: Path) -> None:
    async def body() -> None:
        commands, replicas, _, log_manager = setup(tmp_path)
        listener = Listener()
        commands.leadership["__consumer_offsets"] = listener
        result = await commands.leader_and_isr(leader_and_isr("__consumer_offsets", [(0, 1, 5), (1, 2, 7)]), 5)
        assert result == {("__consumer_offsets", 0): ErrorCode.NONE, ("__consumer_offsets", 1): ErrorCode.NONE}
        led, followed = replicas.get_partition("__consumer_offsets", 0), replicas.get_partition("__consumer_offsets", 1)
        assert led is not None and led.is_leader() and led.leader_epoch == 5 and led.isr == [0, 1, 2]
        assert followed is not None and not followed.is_leader() and followed.leader_id == 2
        assert led.log.config.retention_ms == 1234  # the topic's configs from ZooKeeper
        assert listener.events == [("elected", 0, 5), ("resigned", 1, 7)]
        assert (tmp_path / "logs" / "__consumer_offsets-1").is_dir()  # a follower holds its log

        # the same or an older leader epoch changes nothing
        again = await commands.leader_and_isr(leader_and_isr("__consumer_offsets", [(0, 2, 5)]), 5)
        assert again == {("__consumer_offsets", 0): ErrorCode.STALE_CONTROLLER_EPOCH}
        assert led.is_leader()
        # a newer one moves leadership away
        await commands.leader_and_isr(leader_and_isr("__consumer_offsets", [(0, 2, 6)]), 5)
        assert not led.is_leader() and listener.events[-1] == ("resigned", 0, 6)
        log_manager.shutdown()

    asyncio.run(body())


def test_requests_from_a_stale_or_unknown_controller_or_for_an_old_registration_change_nothing(
    tmp_path: Path,
) -> None:
    async def body() -> None:
        commands, replicas, cache, log_manager = setup(tmp_path)
        await commands.leader_and_isr(leader_and_isr("t", [(0, 1, 1)], epoch=3), 5)
        for request, code in [
            (leader_and_isr("t", [(0, 2, 9)], epoch=2), ErrorCode.STALE_CONTROLLER_EPOCH),
            (leader_and_isr("t", [(0, 2, 9)], controller=7), ErrorCode.STALE_CONTROLLER_EPOCH),
            (leader_and_isr("t", [(0, 2, 9)], broker_epoch=BROKER_EPOCH - 1), ErrorCode.STALE_BROKER_EPOCH),
        ]:
            with pytest.raises(ControllerError) as refused:
                await commands.leader_and_isr(request, 5)
            assert refused.value.code == code
        partition = replicas.get_partition("t", 0)
        assert partition is not None and partition.is_leader() and partition.leader_epoch == 1

        endpoint = UpdateMetadataEndpoint(port=1, host="h", listener="PLAINTEXT")
        update = UpdateMetadataRequest(
            controller_id=0, controller_epoch=2, broker_epoch=BROKER_EPOCH,
            live_brokers=[UpdateMetadataBroker(id=0, endpoints=[endpoint])],
        )  # fmt: skip
        with pytest.raises(ControllerError):
            await commands.update_metadata(update, 7)
        assert cache.alive_brokers() == []
        update.controller_epoch = 3
        update.topic_states = [UpdateMetadataTopicState(topic_name="t", topic_id=TOPIC_ID, partition_states=[
            UpdateMetadataPartitionState(partition_index=0, leader=1, leader_epoch=1, isr=[0, 1, 2], replicas=[0, 1, 2])
        ])]  # fmt: skip
        await commands.update_metadata(update, 7)
        assert [b.id for b in cache.alive_brokers()] == [0] and cache.controller_id == 0
        state = cache.partition("t", 0)
        assert state is not None and state.leader == 1
        log_manager.shutdown()

    asyncio.run(body())


def test_stop_replica_with_delete_removes_the_partition_and_its_directory(tmp_path: Path) -> None:
    async def body() -> None:
        commands, replicas, _, log_manager = setup(tmp_path)
        await commands.leader_and_isr(leader_and_isr("gone", [(0, 1, 1), (1, 1, 1)]), 5)
        request = StopReplicaRequest(
            controller_id=0, controller_epoch=3, broker_epoch=BROKER_EPOCH,
            topic_states=[StopReplicaTopicState(topic_name="gone", partition_states=[
                StopReplicaPartitionState(partition_index=0, leader_epoch=-2, delete_partition=True),
                StopReplicaPartitionState(partition_index=1, leader_epoch=2, delete_partition=False),
            ])],
        )  # fmt: skip
        assert await commands.stop_replica(request, 3) == {("gone", 0): ErrorCode.NONE, ("gone", 1): ErrorCode.NONE}
        assert replicas.get_partition("gone", 0) is None and replicas.get_partition("gone", 1) is None
        assert not (tmp_path / "logs" / "gone-0").exists()
        assert (tmp_path / "logs" / "gone-1").is_dir()  # stopped, not deleted
        log_manager.shutdown()

    asyncio.run(body())

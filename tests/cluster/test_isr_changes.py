"""ISR changes through AlterPartition, min.insync.replicas and per-topic unclean leader election, end to
end: a real ZooKeeper, three broker processes, stock clients and raw requests over real sockets.

Followers are made to lag by pausing their processes (SIGSTOP) for a few seconds, well within their
ZooKeeper session, while the leader's log grows (a follower at the leader's log end is in sync however
long ago it fetched, as in Kafka): after ``replica.lag.time.max.ms`` the leader (here the controller's
broker, which is never paused) shrinks the ISR to itself through AlterPartition. A raw client that
fetches as a follower (Fetch with a replica id) at the log end makes the leader propose that follower
back into the ISR; resumed followers rejoin the same way.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, Producer, TopicCollection
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.cimpl import NewTopic
from kazoo.client import KazooClient

from broker.alter_partition import AlterPartitionManager
from broker.network_client import NetworkClient
from broker.partition import Partition, PendingIsrChange
from protocol.errors import ErrorCode
from protocol.messages.alter_partition import (
    ALTER_PARTITION,
    AlterPartitionRequest,
    AlterPartitionRequestPartition,
    AlterPartitionRequestTopic,
    AlterPartitionResponse,
)
from storage.config import LogConfig
from storage.manager import LogManager
from tests.cluster.brokers import Cluster, admin, view, wait_for
from tests.harness import BrokerProcess, free_port
from tests.raw_client import RawClient
from tests.zookeeper import ZooKeeperServer

LAG_MS = 3000  # replica.lag.time.max.ms: the leader checks every 1.5 s
SESSION_MS = 20000  # a paused broker keeps its ZooKeeper session (and so its place in the cluster)
SETTLE_S = (LAG_MS * 1.5 + 1500) / 1000  # after this a topic's ISR changes only if a follower lags


@dataclass(frozen=True)
class Roles:
    controller: int  # leads every topic here (first in each assignment) and is never paused
    followers: tuple[int, int]


@pytest.fixture(scope="module")
def cluster(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    chroot = f"{zookeeper.connect}/isr-{uuid.uuid4().hex[:8]}"
    overrides = {"offsets.topic.replication.factor": "1", "replica.lag.time.max.ms": str(LAG_MS),
                 "zookeeper.session.timeout.ms": str(SESSION_MS)}  # fmt: skip
    running = Cluster(tmp_path_factory.mktemp("isr"), chroot, overrides=overrides)
    try:
        yield running.start()
    finally:
        for broker in running.brokers:  # never leave a paused process behind
            if broker.process is not None and broker.process.poll() is None:
                os.kill(broker.process.pid, signal.SIGCONT)
        running.stop()


@pytest.fixture(scope="module")
def zk(cluster: Cluster) -> Iterator[KazooClient]:
    client = KazooClient(hosts=cluster.zk_connect)
    client.start(timeout=15)
    try:
        yield client
    finally:
        client.stop()
        client.close()


@pytest.fixture(scope="module")
def roles(cluster: Cluster, zk: KazooClient) -> Roles:
    controller: int = wait_for(lambda: json.loads(zk.get("/controller")[0])["brokerid"] + 1, what="a controller") - 1
    a, b = (i for i in range(3) if i != controller)
    return Roles(controller, (a, b))


@pytest.fixture(scope="module")
def settled(cluster: Cluster, roles: Roles) -> float:
    """Topics created when the module starts, so they are settled by the time their tests run; returns
    when they were created (time.monotonic())."""
    create(cluster, roles, {"checked": {}, "managed": {}})
    return time.monotonic()


def create(cluster: Cluster, roles: Roles, topics: dict[str, dict[str, str]]) -> None:
    """Topics of one partition on all three brokers, led by the controller's broker."""
    client = admin(cluster.brokers[roles.controller])  # kept: the futures fail if their client is gone
    assignment = [[roles.controller, *roles.followers]]
    new = [NewTopic(name, 1, replica_assignment=assignment, config=configs) for name, configs in topics.items()]
    for future in client.create_topics(new, operation_timeout=30).values():
        future.result(timeout=60)


@contextlib.contextmanager
def paused(cluster: Cluster, broker_ids: tuple[int, ...]) -> Iterator[None]:
    """SIGSTOP the brokers (they neither fetch nor answer) and SIGCONT them afterwards."""
    stopped = []
    try:
        for broker_id in broker_ids:
            process = cluster.brokers[broker_id].process
            assert process is not None
            os.kill(process.pid, signal.SIGSTOP)
            stopped.append(process.pid)
        yield
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)


def state(zk: KazooClient, topic: str) -> tuple[dict[str, Any], int]:
    data, stat = zk.get(f"/brokers/topics/{topic}/partitions/0/state")
    return json.loads(data), stat.version


def topic_id_of(zk: KazooClient, topic: str) -> bytes:
    return base64.urlsafe_b64decode(json.loads(zk.get(f"/brokers/topics/{topic}")[0])["topic_id"] + "==")


def isr_on(broker: BrokerProcess, topic: str) -> list[int]:
    return sorted(view(broker, [topic])["topics"][topic][0][2])


def everywhere_as_in_zookeeper(cluster: Cluster, zk: KazooClient, topic: str) -> bool:
    expected = sorted(state(zk, topic)[0]["isr"])
    return all(isr_on(b, topic) == expected for b in cluster.alive())


def produce(bootstrap: str, topic: str, acks: str) -> KafkaError | None:
    """One record through confluent-kafka without retries: the broker's error, or None."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": acks, "retries": 0, "message.timeout.ms": 20000})
    outcome: list[KafkaError | None] = []
    producer.produce(topic, b"v", on_delivery=lambda err, _msg: outcome.append(err))
    producer.flush(30)
    assert len(outcome) == 1
    return outcome[0]


def test_lagging_followers_leave_the_isr_through_the_controller_and_a_caught_up_one_rejoins(
    cluster: Cluster, zk: KazooClient, roles: Roles, settled: float
) -> None:
    create(cluster, roles, {"shrinks": {"min.insync.replicas": "1"}})
    leader_id = roles.controller
    leader = cluster.brokers[leader_id]
    first, _ = state(zk, "shrinks")
    assert first["leader"] == leader_id and sorted(first["isr"]) == [0, 1, 2]
    with paused(cluster, roles.followers):
        # a record the paused followers cannot fetch (acks=1: the ISR need not have it)
        assert produce(leader.bootstrap, "shrinks", "1") is None
        # the followers lag: after replica.lag.time.max.ms the leader proposes an ISR of itself and the
        # controller writes it (same leader epoch, a new znode version: the partition epoch)
        wait_for(lambda: state(zk, "shrinks")[0]["isr"] == [leader_id], what="the ISR to shrink in ZooKeeper")
        shrunk, version = state(zk, "shrinks")
        assert shrunk["leader"] == leader_id and shrunk["leader_epoch"] == first["leader_epoch"] and version >= 1
        wait_for(lambda: isr_on(leader, "shrinks") == [leader_id], what="the leader's Metadata")
        describer = admin(leader)  # kept: the futures fail if their client is gone
        described = describer.describe_topics(TopicCollection(["shrinks"]))["shrinks"].result(30)
        assert [[r.id for r in p.isr] for p in described.partitions] == [[leader_id]]
        assert produce(leader.bootstrap, "shrinks", "all") is None  # min.insync.replicas=1: acks=all goes through
    # back: every broker's Metadata shows what ZooKeeper holds (the UpdateMetadata waited for them)
    wait_for(lambda: everywhere_as_in_zookeeper(cluster, zk, "shrinks"), what="every broker's Metadata")

    # a "follower" fetching at the log end is caught up: the leader proposes it back into the ISR
    follower = roles.followers[0]
    client = RawClient(leader)
    end = client.latest_offset("shrinks")
    assert end >= 1
    response = client.fetch("shrinks", end, replica_id=follower)
    assert response.responses[0].partitions[0].error_code == ErrorCode.NONE
    client.close()
    wait_for(lambda: follower in state(zk, "shrinks")[0]["isr"], what="the follower to rejoin the ISR")
    assert state(zk, "shrinks")[1] > version
    wait_for(lambda: everywhere_as_in_zookeeper(cluster, zk, "shrinks"), what="every broker's Metadata")


def test_min_insync_replicas_refuses_acks_all_before_and_after_the_append(
    cluster: Cluster, zk: KazooClient, roles: Roles
) -> None:
    create(cluster, roles, {"guarded": {"min.insync.replicas": "2"}})
    leader_id = roles.controller
    leader = cluster.brokers[leader_id]
    with paused(cluster, roles.followers):
        # appended while the ISR (all three) is big enough; the HW waits for the followers, the ISR
        # shrinks below min.insync.replicas meanwhile: NOT_ENOUGH_REPLICAS_AFTER_APPEND
        error = produce(leader.bootstrap, "guarded", "all")
        assert error is not None and error.code() == KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND
        assert state(zk, "guarded")[0]["isr"] == [leader_id]
        client = RawClient(leader)
        assert client.latest_offset("guarded") == 1  # it was appended, and is committed now
        client.close()
        # fewer in-sync replicas than min.insync.replicas: refused before the append; acks=1 is unaffected
        wait_for(lambda: isr_on(leader, "guarded") == [leader_id], what="the leader's Metadata")
        refused = produce(leader.bootstrap, "guarded", "all")
        assert refused is not None and refused.code() == KafkaError.NOT_ENOUGH_REPLICAS
        assert produce(leader.bootstrap, "guarded", "1") is None


def test_alter_partition_is_the_controllers_and_checks_every_epoch(
    cluster: Cluster, zk: KazooClient, roles: Roles, settled: float
) -> None:
    time.sleep(max(0.0, settled + SETTLE_S - time.monotonic()))
    leader_id = controller_id = roles.controller
    current, version = state(zk, "checked")
    epoch, committed = current["leader_epoch"], current["isr"]
    topic_id = topic_id_of(zk, "checked")
    broker_epoch = zk.get(f"/brokers/ids/{leader_id}")[1].czxid

    def alter(isr: list[int], partition_epoch: int, to: int = controller_id, leader_epoch: int = epoch,
              sender_epoch: int = broker_epoch, api_version: int = 1, sender: int = leader_id,
              recovery: int = 0) -> AlterPartitionResponse:  # fmt: skip
        request = AlterPartitionRequest(broker_id=sender, broker_epoch=sender_epoch, topics=[
            AlterPartitionRequestTopic(topic_name="checked", topic_id=topic_id, partitions=[
                AlterPartitionRequestPartition(partition_index=0, leader_epoch=leader_epoch, new_isr=isr,
                                               partition_epoch=partition_epoch, leader_recovery_state=recovery)])
        ])  # fmt: skip
        raw = RawClient(cluster.brokers[to])
        try:
            response: AlterPartitionResponse = raw.request(ALTER_PARTITION.key, api_version, request)
        finally:
            raw.close()
        return response

    def refused(response: AlterPartitionResponse) -> int:
        assert response.error_code == ErrorCode.NONE
        return response.topics[0].partitions[0].error_code

    change = [leader_id, roles.followers[0]]  # differs from the committed ISR, whether it shrank or not
    assert sorted(change) != sorted(committed)
    assert alter(change, version, to=roles.followers[1]).error_code == ErrorCode.NOT_CONTROLLER
    assert alter(change, version, sender_epoch=broker_epoch - 1).error_code == ErrorCode.STALE_BROKER_EPOCH
    assert refused(alter(change, version, leader_epoch=epoch - 1)) == ErrorCode.FENCED_LEADER_EPOCH
    assert refused(alter(change, version - 1)) == ErrorCode.INVALID_UPDATE_VERSION
    assert refused(alter(change, version + 1)) == ErrorCode.NOT_CONTROLLER  # the leader knows more: find the new one
    assert refused(alter([leader_id, 7], version)) == ErrorCode.OPERATION_NOT_ATTEMPTED  # not a live replica (v1)
    assert refused(alter([leader_id, 7], version, api_version=2)) == ErrorCode.INELIGIBLE_REPLICA
    assert refused(alter(change, version, recovery=1)) == ErrorCode.INVALID_REQUEST  # KIP-704: not recovering
    assert refused(alter([roles.followers[0]], version)) == ErrorCode.INVALID_REQUEST  # an ISR without its leader
    follower_epoch = zk.get(f"/brokers/ids/{roles.followers[0]}")[1].czxid
    not_leader = alter(change, version, sender=roles.followers[0], sender_epoch=follower_epoch)
    assert refused(not_leader) == ErrorCode.INVALID_REQUEST  # only the leader proposes
    # the state as it is already: answered, nothing written (idempotent)
    same = alter(committed, version, api_version=2)
    assert refused(same) == ErrorCode.NONE and same.topics[0].topic_id == topic_id
    answer = same.topics[0].partitions[0]
    assert answer.partition_epoch == version and answer.isr == committed and answer.leader_id == leader_id
    assert state(zk, "checked") == (current, version)


def test_the_leaders_manager_applies_the_controllers_answers(
    cluster: Cluster, zk: KazooClient, roles: Roles, settled: float, tmp_path: Path
) -> None:
    """The broker side (AlterPartitionManager) in this process, as partition leader ``leader_id`` (its
    broker epoch read from ZooKeeper), against the cluster's real controller."""
    time.sleep(max(0.0, settled + SETTLE_S - time.monotonic()))
    leader_id = controller_id = roles.controller
    current, version = state(zk, "managed")
    committed = current["isr"]
    topic_id = topic_id_of(zk, "managed")
    broker_epoch = zk.get(f"/brokers/ids/{leader_id}")[1].czxid
    follower = roles.followers[0]

    async def body() -> None:
        logs = LogManager([str(tmp_path / "logs")])
        logs.startup()
        address: list[tuple[int, str, int] | None] = [None]
        told: list[Partition] = []
        manager = AlterPartitionManager(leader_id, NetworkClient("test"), lambda: address[0], lambda: broker_epoch,
                                        lambda broker_id: True, told.append)  # fmt: skip
        p = Partition("managed", 0, topic_id, logs.get_or_create_log("managed", 0, LogConfig()), leader_id=leader_id,
                      leader_epoch=current["leader_epoch"], replicas=[0, 1, 2], isr=list(committed), local_id=leader_id,
                      partition_epoch=version, alter_isr=manager)  # fmt: skip

        def propose(isr: list[int], partition_epoch: int = version) -> PendingIsrChange:
            change = PendingIsrChange(isr, p.leader_epoch, partition_epoch)
            p.pending = change
            manager.submit(p, change)
            return change

        async def until(condition: Callable[[], bool]) -> None:
            for _ in range(200):
                if condition():
                    return
                await asyncio.sleep(0.05)
            raise AssertionError("timed out")

        # no controller known, then an unreachable one: kept and retried
        propose([leader_id, 7])
        await asyncio.sleep(0.2)
        assert manager.requests_sent == 0 and manager.pending == 1
        address[0] = (controller_id, "127.0.0.1", free_port())
        await until(lambda: manager.requests_sent >= 2)
        assert manager.pending == 1 and p.pending is not None
        # a broker that is not the controller (a stale view of /controller): NOT_CONTROLLER, kept, retried
        not_controller = roles.followers[1]
        address[0] = (not_controller, "127.0.0.1", cluster.brokers[not_controller].port)
        sent = manager.requests_sent
        await until(lambda: manager.requests_sent >= sent + 2)
        assert manager.pending == 1 and p.pending is not None
        # the controller: broker 7 is no live replica, nothing applied: back to the committed ISR
        address[0] = (controller_id, "127.0.0.1", cluster.brokers[controller_id].port)
        await until(lambda: p.pending is None)
        assert p.isr == committed and manager.pending == 0 and told == []
        # a stale partition epoch: dropped, the proposal stays pending until LeaderAndIsr brings the state
        stale = propose([leader_id, follower], partition_epoch=version - 1)
        await until(lambda: manager.pending == 0)
        assert p.pending is stale and p.isr == committed
        # the committed state proposed again: answered as is, and committed
        p.pending = None
        same = propose(list(committed))
        await until(lambda: p.pending is None)
        assert p.isr == committed and p.partition_epoch == version and told == [p]
        assert same is not p.pending
        await manager.close()
        logs.shutdown()

    asyncio.run(body())
    assert state(zk, "managed") == (current, version)  # none of it changed the partition's state


def test_unclean_leader_election_is_decided_per_topic(cluster: Cluster, zk: KazooClient, roles: Roles) -> None:
    """Last in the module: it stops the controller's broker. The ISRs shrink to their leader while the
    followers are paused, the leader goes: the topic with the default stays offline, the one with the
    topic-level override elects a live replica."""
    create(cluster, roles, {"clean": {}, "unclean": {"unclean.leader.election.enable": "true"}})
    leader_id = roles.controller
    with paused(cluster, roles.followers):
        for topic in ("clean", "unclean"):
            assert produce(cluster.brokers[leader_id].bootstrap, topic, "1") is None  # the followers fall behind
            wait_for(lambda: state(zk, topic)[0]["isr"] == [leader_id], what=f"{topic}'s ISR to shrink")  # noqa: B023
        cluster.brokers[leader_id].stop()  # a clean stop ends its session at once
    survivors = [cluster.brokers[i] for i in roles.followers]
    wait_for(lambda: state(zk, "clean")[0]["leader"] == -1, timeout_s=40, what="the clean topic to go offline")
    assert state(zk, "clean")[0]["isr"] == [leader_id]  # Kafka keeps the last ISR member
    wait_for(lambda: state(zk, "unclean")[0]["leader"] in roles.followers, timeout_s=40, what="an unclean leader")
    elected = state(zk, "unclean")[0]
    # elected with an ISR of itself; the other survivor may have caught up and rejoined since
    assert elected["leader"] in elected["isr"] and leader_id not in elected["isr"]
    assert any("potential data loss" in b.output for b in survivors)
    bootstrap = ",".join(b.bootstrap for b in survivors)
    wait_for(lambda: produce(bootstrap, "unclean", "all") is None, what="the new leader to take writes")
    # turning the topic-level setting on elects a leader for the offline partition at once
    entry = ConfigEntry("unclean.leader.election.enable", "true", incremental_operation=AlterConfigOpType.SET)
    client = admin(survivors[0])
    for future in client.incremental_alter_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, "clean", incremental_configs=[entry])]
    ).values():
        future.result(timeout=30)
    wait_for(lambda: state(zk, "clean")[0]["leader"] in roles.followers, timeout_s=30, what="a leader for clean")

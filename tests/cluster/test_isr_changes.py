"""ISR changes through AlterPartition, min.insync.replicas and per-topic unclean leader election, end to
end: a real ZooKeeper, three broker processes, stock clients and raw requests over real sockets.

Followers do not fetch yet, so on a topic of replication factor 3 the leader sees its followers lag and,
after ``replica.lag.time.max.ms``, shrinks the ISR to itself through the controller. A raw client that
fetches as a follower (Fetch with a replica id) at the log end makes the leader propose that follower
back into the ISR.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, Producer, TopicCollection
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.cimpl import NewTopic
from kafka import KafkaProducer
from kafka.errors import NotEnoughReplicasAfterAppendError
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

LAG_MS = 3000  # the acks=all produce of the min.insync test must arrive before the first shrink


@pytest.fixture(scope="module")
def cluster(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    chroot = f"{zookeeper.connect}/isr-{uuid.uuid4().hex[:8]}"
    overrides = {"offsets.topic.replication.factor": "1", "replica.lag.time.max.ms": str(LAG_MS)}
    running = Cluster(tmp_path_factory.mktemp("isr"), chroot, overrides=overrides)
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture(scope="module")
def settled(cluster: Cluster) -> Cluster:
    """Topics created when the module starts, so their ISRs shrink while the first tests run."""
    create(cluster, {"checked": {}, "managed": {}, "clean": {}, "unclean": {"unclean.leader.election.enable": "true"}})
    return cluster


@pytest.fixture(scope="module")
def zk(cluster: Cluster) -> Iterator[KazooClient]:
    client = KazooClient(hosts=cluster.zk_connect)
    client.start(timeout=15)
    try:
        yield client
    finally:
        client.stop()
        client.close()


def create(cluster: Cluster, topics: dict[str, dict[str, str]], factor: int = 3) -> None:
    client = admin(cluster.brokers[0])
    new = [NewTopic(name, 1, factor, config=configs) for name, configs in topics.items()]
    for future in client.create_topics(new, operation_timeout=30).values():
        future.result(timeout=60)


def state(zk: KazooClient, topic: str) -> tuple[dict[str, Any], int]:
    data, stat = zk.get(f"/brokers/topics/{topic}/partitions/0/state")
    return json.loads(data), stat.version


def leader_of(cluster: Cluster, topic: str) -> BrokerProcess:
    leader: int = wait_for(lambda: view(cluster.brokers[0], [topic])["topics"][topic][0][0] + 1, what="a leader") - 1
    return cluster.brokers[leader]


def isr_everywhere(cluster: Cluster, topic: str) -> list[list[int]]:
    return [sorted(view(b, [topic])["topics"][topic][0][2]) for b in cluster.alive()]


def produce(cluster: Cluster, topic: str, acks: str) -> KafkaError | None:
    """One record through confluent-kafka without retries: the broker's error, or None."""
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": acks, "retries": 0,
                         "message.timeout.ms": 20000})  # fmt: skip
    outcome: list[KafkaError | None] = []
    producer.produce(topic, b"v", on_delivery=lambda err, _msg: outcome.append(err))
    producer.flush(30)
    assert len(outcome) == 1
    return outcome[0]


def test_lagging_followers_leave_the_isr_through_the_controller_and_a_caught_up_one_rejoins(
    cluster: Cluster, settled: Cluster, zk: KazooClient
) -> None:
    create(cluster, {"shrinks": {"min.insync.replicas": "1"}})
    leader = leader_of(cluster, "shrinks")
    leader_id = cluster.brokers.index(leader)
    first, _ = state(zk, "shrinks")
    assert sorted(first["isr"]) == [0, 1, 2]
    # the followers never fetch: after replica.lag.time.max.ms the leader proposes an ISR of itself and
    # the controller writes it (same leader epoch, a new znode version: the partition epoch)
    wait_for(lambda: state(zk, "shrinks")[0]["isr"] == [leader_id], what="the ISR to shrink in ZooKeeper")
    shrunk, version = state(zk, "shrinks")
    assert shrunk["leader"] == leader_id and shrunk["leader_epoch"] == first["leader_epoch"] and version >= 1
    wait_for(lambda: isr_everywhere(cluster, "shrinks") == [[leader_id]] * 3, what="every broker's Metadata")
    for broker in cluster.brokers:  # the admin client's describe_topics agrees everywhere
        describer = admin(broker)  # kept: the futures fail if their client is gone
        described = describer.describe_topics(TopicCollection(["shrinks"]))["shrinks"].result(30)
        assert [[r.id for r in p.isr] for p in described.partitions] == [[leader_id]]
    assert produce(cluster, "shrinks", "all") is None  # min.insync.replicas=1: acks=all goes through

    # a "follower" fetching at the log end is caught up: the leader proposes it back into the ISR
    follower = next(i for i in range(3) if i != leader_id)
    client = RawClient(leader)
    end = client.latest_offset("shrinks")
    assert end >= 1
    response = client.fetch("shrinks", end, replica_id=follower)
    assert response.responses[0].partitions[0].error_code == ErrorCode.NONE
    wait_for(lambda: sorted(state(zk, "shrinks")[0]["isr"]) == sorted([leader_id, follower]),
             what="the follower to rejoin the ISR")  # fmt: skip
    rejoined_version = state(zk, "shrinks")[1]
    assert rejoined_version > version
    # it stops fetching: once the leader has more than it, it lags and leaves again (a follower with
    # everything the leader has stays in sync however long ago it fetched, as in Kafka)
    assert produce(cluster, "shrinks", "1") is None
    wait_for(lambda: state(zk, "shrinks")[0]["isr"] == [leader_id], what="the ISR to shrink again")
    client.close()


def test_min_insync_replicas_refuses_acks_all_before_and_after_the_append(cluster: Cluster, zk: KazooClient) -> None:
    create(cluster, {"guarded": {"min.insync.replicas": "2"}})
    leader = leader_of(cluster, "guarded")
    leader_id = cluster.brokers.index(leader)
    # appended while the ISR (all three) is big enough; the HW waits for followers that never fetch,
    # the ISR shrinks below min.insync.replicas meanwhile: NOT_ENOUGH_REPLICAS_AFTER_APPEND
    producer = KafkaProducer(bootstrap_servers=leader.bootstrap, acks="all", retries=0, request_timeout_ms=30000)
    try:
        with pytest.raises(NotEnoughReplicasAfterAppendError):
            producer.send("guarded", b"a", partition=0).get(timeout=30)
    finally:
        producer.close()
    assert state(zk, "guarded")[0]["isr"] == [leader_id]
    client = RawClient(leader)
    assert client.latest_offset("guarded") == 1  # it was appended, and is committed now
    client.close()
    # now fewer in-sync replicas than min.insync.replicas: refused before the append; acks=1 is unaffected
    wait_for(lambda: isr_everywhere(cluster, "guarded") == [[leader_id]] * 3, what="every broker's Metadata")
    error = produce(cluster, "guarded", "all")
    assert error is not None and error.code() == KafkaError.NOT_ENOUGH_REPLICAS
    assert produce(cluster, "guarded", "1") is None


def test_alter_partition_is_the_controllers_and_checks_every_epoch(settled: Cluster, zk: KazooClient) -> None:
    cluster = settled
    leader_id = cluster.brokers.index(leader_of(cluster, "checked"))
    wait_for(lambda: state(zk, "checked")[0]["isr"] == [leader_id], what="the ISR to shrink")  # then it stays
    current, version = state(zk, "checked")
    epoch = current["leader_epoch"]
    topic_id = base64.urlsafe_b64decode(json.loads(zk.get("/brokers/topics/checked")[0])["topic_id"] + "==")
    controller_id = json.loads(zk.get("/controller")[0])["brokerid"]
    other = next(i for i in range(3) if i != controller_id)
    follower = next(i for i in range(3) if i != leader_id)
    broker_epoch = zk.get(f"/brokers/ids/{leader_id}")[1].czxid

    def alter(isr: list[int], partition_epoch: int, to: int = controller_id, leader_epoch: int = epoch,
              sender_epoch: int = broker_epoch, api_version: int = 1) -> AlterPartitionResponse:  # fmt: skip
        request = AlterPartitionRequest(broker_id=leader_id, broker_epoch=sender_epoch, topics=[
            AlterPartitionRequestTopic(topic_name="checked", topic_id=topic_id, partitions=[
                AlterPartitionRequestPartition(partition_index=0, leader_epoch=leader_epoch, new_isr=isr,
                                               partition_epoch=partition_epoch)])
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

    grow = [leader_id, follower]
    assert alter(grow, version, to=other).error_code == ErrorCode.NOT_CONTROLLER
    assert alter(grow, version, sender_epoch=broker_epoch - 1).error_code == ErrorCode.STALE_BROKER_EPOCH
    assert refused(alter(grow, version, leader_epoch=epoch - 1)) == ErrorCode.FENCED_LEADER_EPOCH
    assert refused(alter(grow, version - 1)) == ErrorCode.INVALID_UPDATE_VERSION
    assert refused(alter(grow, version + 1)) == ErrorCode.NOT_CONTROLLER  # the leader knows more: find the new one
    assert refused(alter([leader_id, 7], version)) == ErrorCode.OPERATION_NOT_ATTEMPTED  # not a live replica (v1)
    assert refused(alter([leader_id, 7], version, api_version=2)) == ErrorCode.INELIGIBLE_REPLICA
    # the state as it is already: answered, nothing written (idempotent)
    same = alter([leader_id], version, api_version=2)
    assert refused(same) == ErrorCode.NONE and same.topics[0].topic_id == topic_id
    assert same.topics[0].partitions[0].partition_epoch == version and same.topics[0].partitions[0].isr == [leader_id]
    assert state(zk, "checked") == (current, version)


def test_the_leaders_manager_applies_the_controllers_answers(settled: Cluster, zk: KazooClient, tmp_path: Path) -> None:
    """The broker side (AlterPartitionManager) in this process, as partition leader ``leader_id`` (its
    broker epoch read from ZooKeeper), against the cluster's real controller."""
    cluster = settled
    leader_id = cluster.brokers.index(leader_of(cluster, "managed"))
    wait_for(lambda: state(zk, "managed")[0]["isr"] == [leader_id], what="the ISR to shrink")
    current, version = state(zk, "managed")
    topic_id = base64.urlsafe_b64decode(json.loads(zk.get("/brokers/topics/managed")[0])["topic_id"] + "==")
    controller_id = json.loads(zk.get("/controller")[0])["brokerid"]
    broker_epoch = zk.get(f"/brokers/ids/{leader_id}")[1].czxid
    follower = next(i for i in range(3) if i != leader_id)

    async def body() -> None:
        logs = LogManager([str(tmp_path / "logs")])
        logs.startup()
        address: list[tuple[int, str, int] | None] = [None]
        told: list[Partition] = []
        manager = AlterPartitionManager(leader_id, NetworkClient("test"), lambda: address[0], lambda: broker_epoch,
                                        lambda broker_id: True, told.append)  # fmt: skip
        p = Partition("managed", 0, topic_id, logs.get_or_create_log("managed", 0, LogConfig()), leader_id=leader_id,
                      leader_epoch=current["leader_epoch"], replicas=[0, 1, 2], isr=[leader_id], local_id=leader_id,
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
        not_controller = next(i for i in range(3) if i != controller_id)
        address[0] = (not_controller, "127.0.0.1", cluster.brokers[not_controller].port)
        sent = manager.requests_sent
        await until(lambda: manager.requests_sent >= sent + 2)
        assert manager.pending == 1 and p.pending is not None
        # the controller: broker 7 is no live replica, nothing applied: back to the committed ISR
        address[0] = (controller_id, "127.0.0.1", cluster.brokers[controller_id].port)
        await until(lambda: p.pending is None)
        assert p.isr == [leader_id] and manager.pending == 0 and told == []
        # a stale partition epoch: dropped, the proposal stays pending until LeaderAndIsr brings the state
        stale = propose([leader_id, follower], partition_epoch=version - 1)
        await until(lambda: manager.pending == 0)
        assert p.pending is stale and p.isr == [leader_id]
        # the committed state proposed again: answered as is, and committed
        p.pending = None
        same = propose([leader_id])
        await until(lambda: p.pending is None)
        assert p.isr == [leader_id] and p.partition_epoch == version and told == [p]
        assert same is not p.pending
        await manager.close()
        logs.shutdown()

    asyncio.run(body())
    assert state(zk, "managed") == (current, version)  # none of it changed the partition's state


def test_unclean_leader_election_is_decided_per_topic(settled: Cluster, zk: KazooClient) -> None:
    """Last in the module: it kills brokers. The ISRs shrink to their leaders, the leaders die: the
    topic with the default stays offline, the one with the topic-level override elects a live replica."""
    cluster = settled
    leaders = {topic: cluster.brokers.index(leader_of(cluster, topic)) for topic in ("clean", "unclean")}
    for topic, leader_id in leaders.items():
        wait_for(lambda: state(zk, topic)[0]["isr"] == [leader_id], what=f"{topic}'s ISR to shrink")  # noqa: B023
    killed = set(leaders.values())
    for broker_id in killed:
        cluster.brokers[broker_id].kill()
    wait_for(lambda: state(zk, "clean")[0]["leader"] == -1, timeout_s=40, what="the clean topic to go offline")
    assert state(zk, "clean")[0]["isr"] == [leaders["clean"]]  # Kafka keeps the last ISR member
    wait_for(lambda: state(zk, "unclean")[0]["leader"] not in (-1, *killed), timeout_s=40, what="an unclean leader")
    elected = state(zk, "unclean")[0]
    assert elected["leader"] not in killed and elected["isr"] == [elected["leader"]]
    survivors = [b for i, b in enumerate(cluster.brokers) if i not in killed]
    assert any("potential data loss" in b.output for b in survivors)
    wait_for(lambda: produce(cluster, "unclean", "all") is None, what="the new leader to take writes")
    # turning the topic-level setting on elects a leader for the offline partition at once
    entry = ConfigEntry("unclean.leader.election.enable", "true", incremental_operation=AlterConfigOpType.SET)
    client = admin(survivors[0])
    for future in client.incremental_alter_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, "clean", incremental_configs=[entry])]
    ).values():
        future.result(timeout=30)
    wait_for(lambda: state(zk, "clean")[0]["leader"] not in (-1, *killed), timeout_s=30, what="a leader for clean")

"""Leader balance on a real 3-broker cluster: ElectLeaders (preferred, unclean) with a real admin client,
the /admin/preferred_replica_election znode, and the automatic preferred-leader rebalance.

The partitions that a preferred election should move are written to ZooKeeper the way a previous
controller leaves them after a broker restart and the restarted follower's return to the ISR: led by a
replica that is not the preferred one, with every replica in the ISR (Kafka's JSON, through a plain
ZooKeeper client; the controller picks them up from the topics watch), which is quicker than
restarting a broker and waiting for it to catch up. Broker kills check the error paths and the unclean election.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import ElectionType, TopicPartition
from confluent_kafka.admin import AdminClient
from kazoo.client import KazooClient

from protocol.errors import ErrorCode
from protocol.messages.elect_leaders import ELECT_LEADERS, ElectLeadersRequest, TopicPartitions
from tests.cluster.brokers import Cluster, metadata, wait_for
from tests.harness import BrokerProcess
from tests.raw_client import RawClient
from tests.zookeeper import ZooKeeperServer

Setup = tuple[Cluster, KazooClient]


def seed_topic(zk: KazooClient, topic: str, partitions: dict[int, tuple[list[int], int]]) -> None:
    """A topic whose partition p has replicas ``partitions[p][0]``, leader ``partitions[p][1]``, all in the ISR."""
    tx = zk.transaction()
    assignment = {"version": 2, "partitions": {str(p): r for p, (r, _) in partitions.items()}}
    tx.create(f"/brokers/topics/{topic}", json.dumps(assignment).encode())
    tx.create(f"/brokers/topics/{topic}/partitions")
    for p, (replicas, leader) in partitions.items():
        state = {"controller_epoch": 1, "leader": leader, "version": 1, "leader_epoch": 3, "isr": replicas}
        tx.create(f"/brokers/topics/{topic}/partitions/{p}")
        tx.create(f"/brokers/topics/{topic}/partitions/{p}/state", json.dumps(state).encode())
    assert all(r is True or isinstance(r, str) for r in tx.commit()), "seeding failed"


def leaders(cluster: Cluster, topic: str, size: int) -> dict[int, int] | None:
    """Partition -> leader, as every live broker's Metadata says it (None while they disagree)."""
    views = []
    for broker in cluster.alive():
        t = metadata(broker).topics.get(topic)
        if t is None or len(t.partitions) != size:
            return None
        views.append({p: part.leader for p, part in t.partitions.items()})
    return views[0] if all(v == views[0] for v in views) else None


def elect(admin: AdminClient, kind: ElectionType, partitions: list[TopicPartition]) -> dict[tuple[str, int], str]:
    """ElectLeaders through librdkafka (sent to the controller): per partition "ok" or the error name."""
    out = {}
    for tp, error in admin.elect_leaders(kind, partitions).result().items():
        out[(tp.topic, tp.partition)] = "ok" if error is None else error.name()
    return out


@pytest.fixture(scope="module")
def zk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    from tests.cluster.conftest import _require_zookeeper

    _require_zookeeper()
    with ZooKeeperServer(tmp_path_factory.mktemp("zk")) as server:
        yield server


def start_cluster(server: ZooKeeperServer, tmp: Path, overrides: dict[str, str]) -> tuple[Cluster, KazooClient]:
    chroot = f"/balance-{uuid.uuid4().hex[:8]}"
    cluster = Cluster(tmp, server.connect + chroot, overrides=overrides).start()
    zk = KazooClient(hosts=server.connect + chroot)
    zk.start(15)
    return cluster, zk


@pytest.fixture(scope="module")
def manual(
    zk_server: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Cluster, KazooClient]]:
    cluster, zk = start_cluster(zk_server, tmp_path_factory.mktemp("manual"), {"auto.leader.rebalance.enable": "false"})
    yield cluster, zk
    zk.stop()
    cluster.stop()


def test_preferred_election_moves_leadership_back_with_kafkas_errors(
    manual: Setup,
) -> None:
    cluster, zk = manual
    seed_topic(zk, "moved", {0: ([1, 2, 0], 2), 1: ([2, 0, 1], 2), 2: ([0, 1, 2], 1)})
    assert wait_for(lambda: leaders(cluster, "moved", 3), what="the seeded topic") == {0: 2, 1: 2, 2: 1}
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    wanted = [TopicPartition("moved", p) for p in range(3)] + [TopicPartition("nope", 0), TopicPartition("moved", 7)]
    result = elect(admin, ElectionType.PREFERRED, wanted)
    assert result == {
        ("moved", 0): "ok",
        ("moved", 1): "ELECTION_NOT_NEEDED",
        ("moved", 2): "ok",
        ("nope", 0): "UNKNOWN_TOPIC_OR_PART",
        ("moved", 7): "UNKNOWN_TOPIC_OR_PART",
    }
    # Every broker now names the preferred replicas, with a bumped leader epoch in ZooKeeper.
    assert wait_for(lambda: leaders(cluster, "moved", 3) == {0: 1, 1: 2, 2: 0} or None, what="preferred leaders")
    state = json.loads(zk.get("/brokers/topics/moved/partitions/0/state")[0])
    assert (state["leader"], state["leader_epoch"], state["isr"]) == (1, 4, [1, 2, 0])
    # Unclean election of partitions that have a live leader: nothing to do.
    assert elect(admin, ElectionType.UNCLEAN, [TopicPartition("moved", 0)]) == {("moved", 0): "ELECTION_NOT_NEEDED"}


def test_admin_znode_triggers_a_preferred_election_and_is_removed(manual: Setup) -> None:
    cluster, zk = manual
    seed_topic(zk, "by-znode", {0: ([0, 1, 2], 1), 1: ([1, 2, 0], 2)})
    assert wait_for(lambda: leaders(cluster, "by-znode", 2), what="the seeded topic") == {0: 1, 1: 2}
    request = {"version": 1, "partitions": [{"topic": "by-znode", "partition": 0}]}
    zk.create("/admin/preferred_replica_election", json.dumps(request).encode())
    assert wait_for(lambda: leaders(cluster, "by-znode", 2) == {0: 0, 1: 2} or None, what="partition 0 back on 0")
    wait_for(lambda: zk.exists("/admin/preferred_replica_election") is None, what="the znode to go")


def test_dead_preferred_replica_and_unclean_election(manual: Setup) -> None:
    cluster, zk = manual
    seed_topic(zk, "lonely", {0: ([2, 1], 1), 1: ([1, 2], 1)})
    assert wait_for(lambda: leaders(cluster, "lonely", 2), what="the seeded topic") == {0: 1, 1: 1}
    victim = cluster.brokers[2]
    victim.kill()
    # Broker 2 gone: it leaves the ISRs; partition 0's preferred replica cannot lead.
    wait_for(lambda: json.loads(zk.get("/brokers/topics/lonely/partitions/0/state")[0])["isr"] == [1], what="ISR [1]")
    admin = AdminClient({"bootstrap.servers": cluster.brokers[0].bootstrap})
    assert elect(admin, ElectionType.PREFERRED, [TopicPartition("lonely", 0)]) == {
        ("lonely", 0): "PREFERRED_LEADER_NOT_AVAILABLE"
    }
    # Broker 1, the last ISR member, dies too: offline; broker 2 returns but is not in the ISR.
    cluster.brokers[1].kill()
    wait_for(lambda: json.loads(zk.get("/brokers/topics/lonely/partitions/0/state")[0])["leader"] == -1, what="offline")
    assert elect(admin, ElectionType.UNCLEAN, [TopicPartition("lonely", 0)]) == {
        ("lonely", 0): "ELIGIBLE_LEADERS_NOT_AVAILABLE"
    }
    victim.restart(clean=False)
    wait_for(lambda: 2 in [b.id for b in metadata(cluster.brokers[0]).brokers.values()], what="broker 2 back")
    assert json.loads(zk.get("/brokers/topics/lonely/partitions/0/state")[0])["leader"] == -1  # clean rules hold
    assert elect(admin, ElectionType.UNCLEAN, [TopicPartition("lonely", 0), TopicPartition("lonely", 1)]) == {
        ("lonely", 0): "ok",
        ("lonely", 1): "ok",
    }
    state = json.loads(zk.get("/brokers/topics/lonely/partitions/0/state")[0])
    assert (state["leader"], state["isr"]) == (2, [2])
    cluster.brokers[1].restart(clean=False)
    wait_for(lambda: len(metadata(cluster.brokers[0]).brokers) == 3, what="broker 1 back")


def test_auto_rebalance_elects_preferred_leaders(zk_server: ZooKeeperServer, tmp_path: Path) -> None:
    overrides = {"leader.imbalance.check.interval.seconds": "1", "leader.imbalance.per.broker.percentage": "10"}
    cluster, zk = start_cluster(zk_server, tmp_path, overrides)
    try:
        # Broker 0 prefers 4 partitions and leads only 2 of them (50% > 10%): both come back to it.
        seed_topic(zk, "tilted", {0: ([0, 1, 2], 1), 1: ([0, 2, 1], 2), 2: ([0, 1, 2], 0), 3: ([0, 2, 1], 0)})
        assert wait_for(lambda: leaders(cluster, "tilted", 4) == {0: 0, 1: 0, 2: 0, 3: 0} or None, what="rebalance")
    finally:
        zk.stop()
        cluster.stop()


def raw_elect(broker: BrokerProcess, version: int, election_type: int, topic: str, partitions: list[int]) -> Any:
    client = RawClient(broker)
    try:
        request = ElectLeadersRequest(
            election_type=election_type, topic_partitions=[TopicPartitions(topic=topic, partitions=partitions)]
        )
        return client.request(ELECT_LEADERS.key, version, request)
    finally:
        client.close()


def test_every_version_on_the_controller_and_not_controller_elsewhere(manual: Setup) -> None:
    cluster, zk = manual
    seed_topic(zk, "versions", {0: ([1, 0, 2], 0), 1: ([2, 0, 1], 2)})
    assert wait_for(lambda: leaders(cluster, "versions", 2), what="the seeded topic") == {0: 0, 1: 2}
    controller_id = json.loads(zk.get("/controller")[0])["brokerid"]
    controller = cluster.brokers[controller_id]
    other = next(b for i, b in enumerate(cluster.brokers) if i != controller_id)
    answer = raw_elect(other, 2, 0, "versions", [0])
    assert [(p.partition_id, p.error_code) for p in answer.replica_election_results[0].partition_result] == [
        (0, ErrorCode.NOT_CONTROLLER)
    ]
    # v0 has no election type: always preferred. v1: unclean of a partition with a live leader.
    answer = raw_elect(controller, 1, 1, "versions", [1])
    assert answer.error_code == ErrorCode.NONE
    assert [(p.partition_id, p.error_code) for p in answer.replica_election_results[0].partition_result] == [
        (1, ErrorCode.ELECTION_NOT_NEEDED)
    ]
    answer = raw_elect(controller, 0, 1, "versions", [0, 1])
    assert [(p.partition_id, p.error_code) for p in answer.replica_election_results[0].partition_result] == [
        (0, ErrorCode.NONE),
        (1, ErrorCode.ELECTION_NOT_NEEDED),
    ]
    assert wait_for(lambda: leaders(cluster, "versions", 2) == {0: 1, 1: 2} or None, what="partition 0 on 1")

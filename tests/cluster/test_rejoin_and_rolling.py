"""The parts of cluster mode working together, end to end (issues 12 and 13): a killed follower's broker,
restarted on its old log dir, catches up and re-enters the ISR the controller writes to ZooKeeper and every
broker serves in Metadata, after which acks=all with ``min.insync.replicas=2`` works again; and a rolling
restart (each broker in turn stopped with SIGTERM, so controlled shutdown moves its leadership first,
restarted, back in the ISR) under an idempotent acks=all producer loses and duplicates nothing.

One real ZooKeeper, three broker processes shared by the module, stock clients (confluent-kafka, kazoo);
histories checked with ``kafkish.testing.checkers`` and replicas compared on disk.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.cimpl import NewTopic
from kazoo.client import KazooClient

from kafkish.testing.checkers import Record, assert_delivery
from tests.cluster.brokers import Cluster, admin, metadata, wait_for
from tests.cluster.replicated import IdempotentWriter, assert_replicas_identical, consume_all
from tests.zookeeper import ZooKeeperServer

Setup = tuple[Cluster, KazooClient]


@pytest.fixture(scope="module")
def setup(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    chroot = f"{zookeeper.connect}/rejoin-{uuid.uuid4().hex[:8]}"
    overrides = {"replica.fetch.backoff.ms": "200", "offsets.topic.num.partitions": "3"}
    cluster = Cluster(tmp_path_factory.mktemp("rejoin"), chroot, overrides=overrides)
    zk = KazooClient(hosts=chroot)
    try:
        cluster.start()
        zk.start(15)
        yield cluster, zk
    finally:
        zk.stop()
        cluster.stop()


def create(cluster: Cluster, topic: str, assignment: list[list[int]], configs: dict[str, str]) -> None:
    client = admin(cluster.alive()[0])  # kept: its futures fail if it is gone
    new = NewTopic(topic, num_partitions=len(assignment), replica_assignment=assignment, config=configs)
    client.create_topics([new], operation_timeout=30)[topic].result(60)
    wait_for(lambda: in_sync(cluster, topic, assignment), what=f"{topic} in sync")


def in_sync(cluster: Cluster, topic: str, replicas: list[list[int]]) -> bool:
    """Every live broker's Metadata has each partition's full replica list in its ISR."""
    for broker in cluster.alive():
        t = metadata(broker).topics.get(topic)
        if t is None or len(t.partitions) != len(replicas):
            return False
        if any(sorted(t.partitions[p].isrs) != sorted(r) for p, r in enumerate(replicas)):
            return False
    return True


def state(zk: KazooClient, topic: str, partition: int) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(zk.get(f"/brokers/topics/{topic}/partitions/{partition}/state")[0])
    return result


def isr_everywhere(cluster: Cluster, zk: KazooClient, topic: str, partitions: int, broker_id: int) -> bool:
    """``broker_id`` is in every partition's ISR in ZooKeeper's state znodes, and every live broker's
    Metadata shows the ISR ZooKeeper holds."""
    wanted = {p: sorted(state(zk, topic, p)["isr"]) for p in range(partitions)}
    if not all(broker_id in isr for isr in wanted.values()):
        return False
    for broker in cluster.alive():
        t = metadata(broker).topics[topic]
        if {p: sorted(t.partitions[p].isrs) for p in range(partitions)} != wanted:
            return False
    return True


def produce_one(bootstrap: str, topic: str, acks: str, value: bytes) -> tuple[KafkaError | None, Any]:
    """One record to partition 0 without retries: the broker's error (or None) and the message."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": acks, "retries": 0, "message.timeout.ms": 20000})
    outcome: list[tuple[KafkaError | None, Any]] = []
    producer.produce(topic, value, partition=0, on_delivery=lambda err, msg: outcome.append((err, msg)))
    producer.flush(30)
    assert len(outcome) == 1
    return outcome[0]


def test_killed_followers_catch_up_and_rejoin_the_isr(setup: Setup) -> None:
    """Replication factor 3, min.insync.replicas=2. With both followers' brokers killed (two of three
    down) acks=all is refused with NOT_ENOUGH_REPLICAS while acks=1 goes on; the first follower
    restarted on its old data copies what it missed, the controller puts it back in the ISR (state znode
    and every broker's Metadata), and acks=all is accepted again; the second one rejoins too and all
    three copies end byte-identical."""
    cluster, zk = setup
    leader_id = json.loads(zk.get("/controller")[0])["brokerid"]  # the controller's broker is never killed
    first_id, second_id = (i for i in range(3) if i != leader_id)
    create(cluster, "rejoin", [[leader_id, first_id, second_id]], {"min.insync.replicas": "2"})
    leader = cluster.brokers[leader_id]
    acked: list[Any] = []

    def produce(acks: str, value: str) -> KafkaError | None:
        err, msg = produce_one(leader.bootstrap, "rejoin", acks, value.encode())
        if err is None:
            acked.append(msg)
        return err

    assert [produce("all", f"before-{i}") for i in range(5)] == [None] * 5
    cluster.brokers[first_id].kill()
    cluster.brokers[second_id].kill()
    wait_for(lambda: state(zk, "rejoin", 0)["isr"] == [leader_id], what="the controller to drop the dead followers")
    err = produce("all", "refused")
    assert err is not None and err.code() == KafkaError.NOT_ENOUGH_REPLICAS, err
    # acks=1 needs only the leader: records the followers have to catch up on
    assert [produce("1", f"missed-{i}") for i in range(20)] == [None] * 20

    cluster.brokers[first_id].restart(clean=False)
    wait_for(lambda: isr_everywhere(cluster, zk, "rejoin", 1, first_id), timeout_s=60, what="the first one in the ISR")
    assert state(zk, "rejoin", 0)["leader"] == leader_id
    assert [produce("all", f"two-{i}") for i in range(5)] == [None] * 5
    cluster.brokers[second_id].restart(clean=False)
    wait_for(lambda: isr_everywhere(cluster, zk, "rejoin", 1, second_id), timeout_s=60, what="the second in the ISR")
    assert sorted(state(zk, "rejoin", 0)["isr"]) == [0, 1, 2]
    assert [produce("all", f"three-{i}") for i in range(5)] == [None] * 5
    produced = [Record("rejoin", m.value(), m.partition(), m.offset()) for m in acked]
    assert len(produced) == 35
    assert_delivery(produced, consume_all(cluster, "rejoin", 1))
    assert_replicas_identical(cluster, "rejoin", 1)


def test_rolling_restart_under_an_acks_all_producer_loses_nothing(setup: Setup) -> None:
    """Each broker in turn: SIGTERM (controlled shutdown hands its leadership away first), restart on
    its log dir, wait until it is back in every ISR; an idempotent acks=all producer runs throughout.
    Every acknowledged record is read once and in order, the producer saw no fatal error and no failed
    delivery, and the three copies of each partition end byte-identical."""
    cluster, zk = setup
    partitions = 3
    assignment = [[p % 3, (p + 1) % 3, (p + 2) % 3] for p in range(partitions)]  # each broker leads one
    create(cluster, "rolling", assignment, {"min.insync.replicas": "2"})
    config = {"message.timeout.ms": 60000, "reconnect.backoff.max.ms": 200}
    with IdempotentWriter(cluster, "rolling", partitions, config) as writer:
        for broker_id, broker in enumerate(cluster.brokers):
            assert broker.stop() == 0
            assert "controlled shutdown succeeded" in broker.output, broker.output[-2000:]
            assert all(state(zk, "rolling", p)["leader"] != broker_id for p in range(partitions))
            writer.wait_for_more(50, what="acks while a broker is down")
            broker.restart(clean=False)
            wait_for(
                lambda: isr_everywhere(cluster, zk, "rolling", partitions, broker_id),  # noqa: B023
                timeout_s=60, what=f"broker {broker_id} back in every ISR",
            )  # fmt: skip
        writer.wait_for_more(50, what="acks after the rolling restart")
    # only the broken connections to the broker being restarted: nothing fatal, nothing the client gave up on
    errors = writer.errors
    assert all(e.code() == KafkaError._TRANSPORT and not e.fatal() for e in errors), [
        (e.name(), e.str()) for e in errors if e.code() != KafkaError._TRANSPORT or e.fatal()
    ]
    writer.check(cluster)
    assert_replicas_identical(cluster, "rolling", partitions)
    print(f"rolling restart of 3 brokers under acks=all: {len(writer.acked)} acked, {len(errors)} connection errors")

"""Replication in cluster mode: followers fetch, acks=all waits for the ISR, and a leader's death
loses no acknowledged record. One real ZooKeeper, three broker processes, stock clients.

Each test proves what a user sees and then compares the replicas on disk: every copy of a partition
holds byte-identical batches below the high watermark (``kafkish.testing.replicas``). The cluster is
shared by the module; the tests that kill a broker restart it before they end.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.cimpl import NewTopic
from kafka import KafkaProducer

from kafkish.testing.checkers import Record, assert_delivery
from protocol.errors import ErrorCode
from tests.cluster.brokers import Cluster, admin, metadata, wait_for
from tests.cluster.replicated import IdempotentWriter, assert_replicas_identical, consume_all
from tests.harness import BrokerProcess
from tests.raw_client import RawClient
from tests.zookeeper import ZooKeeperServer


@pytest.fixture(scope="module")
def cluster(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    chroot = f"{zookeeper.connect}/replication-{uuid.uuid4().hex[:8]}"
    overrides = {"offsets.topic.num.partitions": "3", "replica.fetch.backoff.ms": "200"}
    running = Cluster(tmp_path_factory.mktemp("replication"), chroot, overrides=overrides)
    try:
        yield running.start()
    finally:
        running.stop()


def create(cluster: Cluster, topic: str, partitions: int, configs: dict[str, str] | None = None) -> None:
    client = admin(cluster.alive()[0])
    new = NewTopic(topic, partitions, 3, config=configs or {})
    for future in client.create_topics([new], operation_timeout=30).values():
        future.result(timeout=60)
    wait_for(lambda: all(len(_isr(cluster, topic, p)) == 3 for p in range(partitions)), what=f"{topic} in sync")


def _partition(cluster: Cluster, topic: str, index: int) -> Any:
    return metadata(cluster.alive()[0]).topics[topic].partitions[index]


def _isr(cluster: Cluster, topic: str, index: int) -> list[int]:
    return list(_partition(cluster, topic, index).isrs)


def leader_of(cluster: Cluster, topic: str, index: int) -> int:
    return int(_partition(cluster, topic, index).leader)


def test_acks_all_on_replication_factor_3_replicates_byte_for_byte(cluster: Cluster) -> None:
    create(cluster, "replicated", 2)
    acked: list[Any] = []
    failed: list[KafkaError] = []

    def delivered(err: KafkaError | None, msg: Any) -> None:
        (failed if err is not None else acked).append(err or msg)

    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(300):
        producer.produce("replicated", f"ck-{i}".encode(), partition=i % 2, on_delivery=delivered)
    assert producer.flush(60) == 0
    python_producer = KafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all", linger_ms=5)
    futures = [python_producer.send("replicated", f"kp-{i}".encode(), partition=i % 2) for i in range(100)]
    python_acked = [(f"kp-{i}".encode(), f.get(timeout=60)) for i, f in enumerate(futures)]
    python_producer.close()
    assert not failed
    produced = [Record("replicated", m.value(), m.partition(), m.offset()) for m in acked]
    produced += [Record("replicated", v, md.partition, md.offset) for v, md in python_acked]
    assert len(produced) == 400
    assert_delivery(produced, consume_all(cluster, "replicated", 2))
    assert_replicas_identical(cluster, "replicated", 2)


def test_only_the_leader_answers_a_replica_fetch_and_only_from_a_replica(cluster: Cluster) -> None:
    leader_id = leader_of(cluster, "replicated", 0)
    follower_id = next(i for i in range(3) if i != leader_id)
    leader, follower = cluster.brokers[leader_id], cluster.brokers[follower_id]

    def fetch(broker: BrokerProcess, replica_id: int) -> Any:
        client = RawClient(broker)
        try:
            return client.fetch("replicated", 0, version=12, replica_id=replica_id).responses[0].partitions[0]
        finally:
            client.close()

    assert fetch(leader, 7).error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER  # broker 7 holds no replica
    assert fetch(follower, leader_id).error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER  # followers serve nobody
    answer = fetch(leader, follower_id)
    assert answer.error_code == ErrorCode.NONE and answer.records


def test_leader_killed_under_idempotent_acks_all_producer_loses_nothing(cluster: Cluster) -> None:
    """SIGKILL the leader's broker while an idempotent acks=all producer runs, restart it: every
    acknowledged record is read once, in order, and the restarted copy ends byte-identical."""
    create(cluster, "failover", 1, {"min.insync.replicas": "2"})
    with IdempotentWriter(cluster, "failover", config={"message.timeout.ms": 60000}) as writer:
        victim_id = leader_of(cluster, "failover", 0)
        victim = cluster.brokers[victim_id]
        victim.kill()
        wait_for(lambda: leader_of(cluster, "failover", 0) not in (-1, victim_id), timeout_s=60, what="a new leader")
        writer.wait_for_more(100, what="acks from the new leader")
        victim.restart(clean=False)
        writer.wait_for_more(100, what="acks after the restart")
    writer.check(cluster)
    assert_replicas_identical(cluster, "failover", 1)


def test_committed_offsets_survive_the_death_of_the_coordinator(cluster: Cluster) -> None:
    create(cluster, "progress", 1)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(10):
        producer.produce("progress", f"p-{i}".encode(), partition=0)
    assert producer.flush(60) == 0
    group = f"survivor-{uuid.uuid4().hex[:6]}"
    settings = {"bootstrap.servers": cluster.bootstrap, "group.id": group, "enable.auto.commit": False,
                "auto.offset.reset": "earliest"}  # fmt: skip
    consumer = Consumer(settings)
    consumer.assign([TopicPartition("progress", 0, 0)])
    read: list[Any] = []
    deadline = time.monotonic() + 30
    while len(read) < 7 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            read.append(msg)
    assert [m.value() for m in read] == [f"p-{i}".encode() for i in range(7)]
    consumer.commit(offsets=[TopicPartition("progress", 0, 7)], asynchronous=False)
    consumer.close()
    client = admin(cluster.alive()[0])  # kept: its futures fail if it is gone
    described = client.describe_consumer_groups([group])[group].result(timeout=30)
    victim = cluster.brokers[described.coordinator.id]
    victim.kill()
    try:
        again = Consumer(settings)
        try:
            committed = wait_for(
                lambda: [tp.offset for tp in again.committed([TopicPartition("progress", 0)], timeout=5)] == [7],
                timeout_s=60, what="the committed offset from the new coordinator",
            )  # fmt: skip
            assert committed
            again.assign([TopicPartition("progress", 0)])  # no offset: the group's committed one
            first = wait_for(lambda: _first_record(again), timeout_s=30, what="a record after the committed offset")
            assert (first.offset(), first.value()) == (7, b"p-7")
        finally:
            again.close()
    finally:
        victim.restart(clean=False)
    wait_for(lambda: len(metadata(victim).brokers) == 3, what="the coordinator's broker back")


def _first_record(consumer: Consumer) -> Any:
    msg = consumer.poll(0.5)
    return msg if msg is not None and msg.error() is None else None


def test_a_deposed_leader_truncates_what_it_alone_had_and_ends_byte_identical(cluster: Cluster) -> None:
    """The followers are paused while the leader takes acks=1 records they never see; the leader dies,
    a follower takes over (new leader epoch) and takes acks=all records at the same offsets. The old
    leader, restarted, must cut its own records by leader epoch (OffsetForLeaderEpoch) and copy the new
    leader's: afterwards all three copies are byte-identical and no reader sees the cut records."""
    create(cluster, "diverge", 1)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(20):
        producer.produce("diverge", f"agreed-{i}".encode(), partition=0)
    assert producer.flush(60) == 0
    leader_id = leader_of(cluster, "diverge", 0)
    leader = cluster.brokers[leader_id]
    followers = [b for i, b in enumerate(cluster.brokers) if i != leader_id]
    for follower in followers:
        assert follower.process is not None
        follower.process.send_signal(signal.SIGSTOP)
    time.sleep(1.0)  # their pending fetches are answered (empty) after replica.fetch.wait.max.ms
    try:
        alone = Producer(
            {"bootstrap.servers": leader.bootstrap, "acks": "1", "topic.metadata.refresh.interval.ms": 600000}
        )
        for i in range(10):
            alone.produce("diverge", f"alone-{i}".encode(), partition=0)
        assert alone.flush(30) == 0
    finally:
        leader.kill()
        for follower in followers:
            assert follower.process is not None
            follower.process.send_signal(signal.SIGCONT)
    wait_for(lambda: leader_of(cluster, "diverge", 0) not in (-1, leader_id), timeout_s=60, what="a new leader")
    for i in range(15):
        producer.produce("diverge", f"after-{i}".encode(), partition=0)
    assert producer.flush(60) == 0
    leader.restart(clean=False)
    wait_for(
        lambda: "truncated diverge-0 from 30 to 20" in leader.output, timeout_s=60, what="the old leader's truncation"
    )
    values = [m.value() for m in consume_all(cluster, "diverge", 1)]
    assert values == [f"agreed-{i}".encode() for i in range(20)] + [f"after-{i}".encode() for i in range(15)]
    assert_replicas_identical(cluster, "diverge", 1)

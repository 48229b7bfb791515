"""Transactions in cluster mode: a real ZooKeeper, three broker processes, confluent-kafka clients.

The transaction coordinator writes the markers of partitions it leads itself and sends WriteTxnMarkers
to the leaders of the others over the inter-broker listener. Followers do not fetch yet, so every
topic here has replication factor 1, spread over the three brokers, ``__transaction_state`` included
(``transaction.state.log.replication.factor=1``, ``min.isr=1``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.cimpl import NewTopic

from tests.cluster.brokers import Cluster, admin, metadata, wait_for
from tests.zookeeper import ZooKeeperServer

TIMEOUT_S = 30
TOPIC = "txn-spread"
PARTITIONS = 3
OVERRIDES = {
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "3",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "3",
    "group.initial.rebalance.delay.ms": "0",
}


@pytest.fixture(scope="module")
def cluster(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    chroot = f"{zookeeper.connect}/txn-{uuid.uuid4().hex[:8]}"
    running = Cluster(tmp_path_factory.mktemp("txn-cluster"), chroot, overrides=OVERRIDES)
    try:
        running.start()
        client = admin(running.brokers[0])
        for future in client.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], operation_timeout=30).values():
            future.result(timeout=60)
        wait_for(lambda: _leaders(running) if len(set(_leaders(running).values())) == PARTITIONS else None,
                 what=f"{TOPIC}'s partitions led by three brokers")  # fmt: skip
        yield running
    finally:
        running.stop()


def _leaders(cluster: Cluster) -> dict[int, int]:
    topic = metadata(cluster.brokers[0]).topics.get(TOPIC)
    return {} if topic is None else {p: part.leader for p, part in topic.partitions.items()}


def _read_committed(cluster: Cluster, expected: int) -> tuple[list[bytes], dict[int, tuple[int, int]]]:
    """Every value a read_committed consumer reads from the start, once it has ``expected`` of them and
    stands at each partition's end; and per partition (position, high watermark)."""
    consumer = Consumer({
        "bootstrap.servers": cluster.bootstrap, "group.id": f"g-{uuid.uuid4().hex[:6]}",
        "isolation.level": "read_committed", "enable.auto.commit": False,
    })  # fmt: skip
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    values: list[bytes] = []
    ends: dict[int, tuple[int, int]] = {}
    try:

        def done() -> bool:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value() or b"")
            if len(values) < expected:
                return False
            for p in range(PARTITIONS):
                position = consumer.position([TopicPartition(TOPIC, p)])[0].offset
                ends[p] = (position, consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1])
            return all(position == high for position, high in ends.values())

        wait_for(done, timeout_s=60, what="the read_committed consumer to reach every partition's end")
    finally:
        consumer.close()
    return values, ends


def test_a_transaction_over_partitions_of_three_brokers_commits_and_aborts(cluster: Cluster) -> None:
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": "spread", "linger.ms": 5})
    producer.init_transactions(TIMEOUT_S)
    committed: list[bytes] = []
    for n, commit in enumerate((True, False, True)):
        producer.begin_transaction()
        batch = [f"t{n}-p{p}-{i}".encode() for p in range(PARTITIONS) for i in range(3)]
        for value in batch:
            producer.produce(TOPIC, value=value, partition=int(value.split(b"-p")[1][:1]))
        if commit:
            producer.commit_transaction(TIMEOUT_S)
            committed += batch
        else:
            producer.flush(TIMEOUT_S)  # the records are written, then aborted
            producer.abort_transaction(TIMEOUT_S)
    values, ends = _read_committed(cluster, len(committed))
    assert sorted(values) == sorted(committed)
    # each partition holds 9 records and 3 markers: its last stable offset reached its end, so every
    # leader wrote both commits and the abort, whichever broker coordinates the transactional id
    assert ends == {p: (12, 12) for p in range(PARTITIONS)}


def test_the_transaction_state_topic_has_its_configs(cluster: Cluster) -> None:
    topic = wait_for(lambda: metadata(cluster.brokers[1]).topics.get("__transaction_state"), what="the topic")
    assert len(topic.partitions) == 3
    assert all(len(p.replicas) == 1 for p in topic.partitions.values())
    resource = ConfigResource(ConfigResource.Type.TOPIC, "__transaction_state")
    client = admin(cluster.brokers[2])  # kept: the future fails if its client is gone
    configs = client.describe_configs([resource])[resource].result(TIMEOUT_S)
    assert configs["cleanup.policy"].value == "compact"
    assert configs["min.insync.replicas"].value == "1"
    assert configs["segment.bytes"].value == "104857600"

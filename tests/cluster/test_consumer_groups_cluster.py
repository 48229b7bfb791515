"""Consumer groups in cluster mode with Kafka's default ``offsets.topic.replication.factor`` (3): real
ZooKeeper, three broker processes, confluent-kafka clients.

As in Kafka (2.4), ``__consumer_offsets`` is not created while fewer brokers are alive than its
replication factor: FindCoordinator answers COORDINATOR_NOT_AVAILABLE (retriable) meanwhile, rather
than creating the topic with fewer replicas for good. Once the third broker is up, a subscribing group
gets its coordinator and the topic has 3 replicas on every partition.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.cimpl import NewTopic

from protocol.errors import ErrorCode
from protocol.messages.find_coordinator import FindCoordinatorRequest
from tests.cluster.brokers import Cluster, admin, metadata, wait_for
from tests.raw_client import RawClient
from tests.zookeeper import ZooKeeperServer

TOPIC = "orders"
OVERRIDES = {"offsets.topic.num.partitions": "3"}


@pytest.fixture(scope="module")
def cluster(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two brokers of three started: the tests start the third."""
    chroot = f"{zookeeper.connect}/groups-{uuid.uuid4().hex[:8]}"
    running = Cluster(tmp_path_factory.mktemp("groups-cluster"), chroot, overrides=OVERRIDES)
    try:
        for broker in running.brokers[:2]:
            broker.start()
        wait_for(lambda: all(len(metadata(b).brokers) == 2 for b in running.brokers[:2]), what="two brokers")
        yield running
    finally:
        running.stop()


def test_offsets_topic_waits_for_enough_brokers_then_groups_work(cluster: Cluster) -> None:
    client = RawClient(cluster.brokers[0])
    try:
        for _ in range(3):  # each try would create the topic if it could
            found = client.request(10, 3, FindCoordinatorRequest(key="early", key_type=0))
            assert found.error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE
            time.sleep(0.2)
    finally:
        client.close()
    assert "__consumer_offsets" not in metadata(cluster.brokers[1]).topics

    cluster.brokers[2].start()
    wait_for(lambda: all(len(metadata(b).brokers) == 3 for b in cluster.brokers), what="the third broker")
    tool = admin(cluster.brokers[0])  # kept: the futures fail once their client is gone
    tool.create_topics([NewTopic(TOPIC, 3, 3)], operation_timeout=30)[TOPIC].result(60)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "enable.idempotence": True})
    for i in range(30):
        producer.produce(TOPIC, value=b"%d" % i, partition=i % 3)
    assert producer.flush(30) == 0

    consumer = Consumer({
        "bootstrap.servers": cluster.bootstrap, "group.id": "early", "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })  # fmt: skip
    consumer.subscribe([TOPIC])
    seen: set[int] = set()
    try:

        def all_read() -> bool:
            for message in consumer.consume(30, 0.5):
                if message.error() is None:
                    seen.add(int(message.value() or b"-1"))
            return len(seen) == 30

        wait_for(all_read, timeout_s=60, what="the subscribed consumer to read every record")
        committed = consumer.commit(asynchronous=False)
        assert committed is not None and sum(tp.offset for tp in committed) == 30
    finally:
        consumer.close()
    offsets = metadata(cluster.brokers[2]).topics["__consumer_offsets"]
    assert len(offsets.partitions) == 3
    assert all(sorted(p.replicas) == [0, 1, 2] for p in offsets.partitions.values())

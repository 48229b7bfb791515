"""sarama (Go) against the 3-broker cluster: metadata with several brokers, acks=all, a leader change.

The Go program is tests/clients/go/ (built by tests/clients/sarama.py). One cluster for the module, on
the session's ZooKeeper under a chroot of its own.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from tests.clients.sarama import binary, sarama
from tests.cluster.brokers import Cluster, view, wait_for
from tests.zookeeper import ZooKeeperServer

TOPIC = "go-cluster"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, zookeeper: ZooKeeperServer) -> Iterator[Cluster]:
    tmp: Path = tmp_path_factory.mktemp("sarama-cluster")
    running = Cluster(tmp, f"{zookeeper.connect}/sarama-{uuid.uuid4().hex[:8]}").start()
    try:
        admin = AdminClient({"bootstrap.servers": running.bootstrap})
        new = NewTopic(TOPIC, num_partitions=3, replica_assignment=[[0, 1, 2], [1, 2, 0], [2, 0, 1]])
        admin.create_topics([new], operation_timeout=30)[TOPIC].result(60)
        for broker in running.brokers:
            wait_for(lambda b=broker: len(view(b, [TOPIC])["topics"].get(TOPIC, {})) == 3, what="the topic")  # type: ignore[misc]
        yield running
    finally:
        running.stop()


def test_metadata_lists_every_broker_the_controller_and_each_leader(cluster: Cluster) -> None:
    expected = view(cluster.brokers[0], [TOPIC])
    seen = sarama("metadata", cluster.brokers[2].bootstrap, TOPIC)
    assert sorted(seen["brokers"].items()) == [(str(i), f"{h}:{p}") for i, h, p in expected["brokers"]]
    assert seen["controller"] == expected["controller"]
    partitions = expected["topics"][TOPIC]
    assert seen["leaders"] == {str(p): leader for p, (leader, _, _) in partitions.items()}
    assert seen["replicas"] == {str(p): replicas for p, (_, replicas, _) in partitions.items()}


def test_one_idempotent_producer_keeps_every_acked_record_across_a_leader_change(cluster: Cluster) -> None:
    producer = subprocess.Popen(
        [str(binary()), "produce-sync", cluster.bootstrap, TOPIC, "24", "0", "1", "pause"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert producer.stderr is not None and producer.stdin is not None
        assert producer.stderr.readline().strip() == "paused"  # 12 records acknowledged
        leader = view(cluster.brokers[0], [TOPIC])["topics"][TOPIC][0][0]
        cluster.brokers[leader].stop()  # controlled shutdown: partition 0 moves to an in-sync follower
        survivor = next(b for b in cluster.alive())
        wait_for(lambda: view(survivor, [TOPIC])["topics"][TOPIC][0][0] not in (leader, -1), what="a new leader")
        out, err = producer.communicate("go on\n", timeout=90)
    finally:
        if producer.poll() is None:
            producer.kill()
    assert producer.returncode == 0, err
    produced = json.loads(out.strip().splitlines()[-1])["produced"]
    seen = sarama("metadata", survivor.bootstrap, TOPIC)
    assert seen["leaders"]["0"] != leader and str(leader) not in seen["brokers"]
    bootstrap = ",".join(b.bootstrap for b in cluster.alive())
    acknowledged = {(p["partition"], p["offset"]): p["key"] for p in produced}
    assert sorted(acknowledged.values()) == sorted(f"key-{i}" for i in range(24))
    for partition in range(3):
        offsets = sorted(o for p, o in acknowledged if p == partition)
        assert offsets == list(range(len(offsets)))  # dense: nothing lost or duplicated by the move
        records = sarama("consume", bootstrap, TOPIC, partition, len(offsets))["records"]
        assert [(r["offset"], r["key"]) for r in records] == [(o, acknowledged[(partition, o)]) for o in offsets]

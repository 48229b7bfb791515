"""Controlled shutdown on a real 3-broker cluster: leadership leaves a broker before it exits.

ControlledShutdown is sent by hand first (tests/raw_client.py) to see the controller's answers while the
broker is still up; then a broker stopped with SIGTERM is watched handing its leadership away on its own.
Data checks (producers with acks=all losing nothing) come with follower replication.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from kazoo.client import KazooClient

from protocol.errors import ErrorCode
from protocol.messages.controlled_shutdown import CONTROLLED_SHUTDOWN, ControlledShutdownRequest
from tests.cluster.brokers import Cluster, cluster_on_its_own_zookeeper, metadata, wait_for
from tests.harness import BrokerProcess
from tests.raw_client import RawClient

Setup = tuple[Cluster, KazooClient]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with cluster_on_its_own_zookeeper(tmp_path_factory, "shutdown") as both:
        yield both


def create(cluster: Cluster, topic: str, assignment: list[list[int]]) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    new = NewTopic(topic, num_partitions=len(assignment), replica_assignment=assignment)
    admin.create_topics([new], operation_timeout=30)[topic].result(60)
    for broker in cluster.alive():
        wait_for(lambda b=broker: len(leaders_seen(b, topic)) == len(assignment), what=f"{topic} everywhere")  # type: ignore[misc]


def states(zk: KazooClient, topic: str, count: int) -> dict[int, dict[str, Any]]:
    return {p: json.loads(zk.get(f"/brokers/topics/{topic}/partitions/{p}/state")[0]) for p in range(count)}


def leaders_seen(broker: BrokerProcess, topic: str) -> dict[int, int]:
    return {p: x.leader for p, x in metadata(broker).topics[topic].partitions.items()}


def settled(broker: BrokerProcess) -> bool:
    md = metadata(broker)
    return len(md.brokers) == 3 and md.controller_id >= 0


def controller_of(zk: KazooClient, cluster: Cluster) -> BrokerProcess:
    broker: BrokerProcess = cluster.brokers[json.loads(zk.get("/controller")[0])["brokerid"]]
    return broker


def shutdown_request(broker: BrokerProcess, broker_id: int, broker_epoch: int, version: int = 3) -> tuple[int, list]:  # type: ignore[type-arg]
    client = RawClient(broker)
    try:
        body = ControlledShutdownRequest(broker_id=broker_id, broker_epoch=broker_epoch)
        response = client.request(CONTROLLED_SHUTDOWN.key, version, body)
    finally:
        client.close()
    return response.error_code, [(p.topic_name, p.partition_index) for p in response.remaining_partitions]


def test_controller_moves_leadership_off_a_live_broker(setup: Setup) -> None:
    cluster, zk = setup
    create(cluster, "handed", [[1, 2, 0], [1, 0, 2], [2, 1, 0], [0, 1, 2]])
    create(cluster, "single", [[1]])  # one replica: nowhere to go
    before = states(zk, "handed", 4)
    controller = controller_of(zk, cluster)
    others = [b for b in cluster.brokers if b is not controller]
    epoch = zk.exists("/brokers/ids/1").czxid
    # Errors first: not the controller; an unknown broker; an earlier incarnation's epoch.
    assert shutdown_request(others[0], 1, epoch)[0] == ErrorCode.NOT_CONTROLLER
    assert shutdown_request(controller, 42, -1)[0] == ErrorCode.BROKER_NOT_AVAILABLE
    assert shutdown_request(controller, 42, -1, version=0)[0] == ErrorCode.BROKER_NOT_AVAILABLE  # header v0
    assert shutdown_request(controller, 1, epoch - 1)[0] == ErrorCode.STALE_BROKER_EPOCH

    # The controller moves broker 1's leadership while broker 1 still runs; v1 carries no epoch.
    assert shutdown_request(controller, 1, -1, version=1) == (ErrorCode.NONE, [])
    after = states(zk, "handed", 4)
    assert [after[p]["leader"] for p in range(4)] == [2, 0, 2, 0]
    for p in range(4):
        assert 1 not in after[p]["isr"], after[p]
        assert after[p]["leader_epoch"] == before[p]["leader_epoch"] + 1
    assert states(zk, "single", 1)[0]["leader"] == 1
    # Every broker's Metadata says so, broker 1 included, and broker 1 is still a live broker.
    for broker in cluster.brokers:
        wait_for(lambda b=broker: leaders_seen(b, "handed") == {0: 2, 1: 0, 2: 2, 3: 0}, what="new leaders")  # type: ignore[misc]
        assert 1 in metadata(broker).brokers
    cluster.brokers[1].restart()  # a new session: broker 1 may lead again
    for broker in cluster.brokers:  # every broker knows the controller again before the next test
        wait_for(lambda b=broker: settled(b), what="broker 1 back")  # type: ignore[misc]


def test_sigterm_hands_leadership_away_before_the_broker_exits(setup: Setup) -> None:
    cluster, zk = setup
    # Broker 2 leads 100 partitions; each has replicas on the two others too.
    assignment = [[2, 0, 1] if p % 2 else [2, 1, 0] for p in range(100)]
    create(cluster, "hundred", assignment)
    assert {s["leader"] for s in states(zk, "hundred", 100).values()} == {2}
    victim = cluster.brokers[2]
    assert victim.stop() == 0
    log = Path(victim.output_path).read_text()
    took = re.search(r"controlled shutdown succeeded in ([0-9.]+)s", log)
    assert took is not None, log[-3000:]
    print(f"controlled shutdown of a broker leading 100 partitions: {took.group(1)} s")
    # It exited after the controller had moved everything: the new leaders came with an ISR without it.
    after = states(zk, "hundred", 100)
    assert all(s["leader"] == assignment[p][1] and 2 not in s["isr"] for p, s in after.items()), after
    survivor = cluster.brokers[0]
    assert leaders_seen(survivor, "hundred") == {p: assignment[p][1] for p in range(100)}
    victim.start()
    wait_for(lambda: len(metadata(survivor).brokers) == 3, what="broker 2 back")

"""Replication throttles, end to end (Kafka's replication quotas): a real ZooKeeper, three broker
processes, the rates and throttled replica lists set with IncrementalAlterConfigs by a stock client.

A follower stopped while its leaders' logs grow by ``BACKLOG`` bytes, restarted under a low follower
throttle (one topic) and a low leader throttle (another), replicates at most what the quotas allow over
a window (an upper bound: a slow machine only replicates less), and catches up once the rates are
deleted, without a restart. A follower in the ISR is never held back, however low the rates.
Bounds: the rate over ``WINDOW_NUM`` samples of 1 s lets through at most ``RATE`` times the window
plus the samples' span, and one fetch (``FETCH_MAX`` per partition) beyond it, twice for margin.

``kafkish reassign-partitions`` against the same brokers (racks ra, ra, rb): ``--generate`` proposes
Kafka's rack-aware assignment from the racks Metadata tells, and ``--execute --throttle`` sets the
throttles Kafka's tool sets, which ``--verify`` clears.
"""

from __future__ import annotations

import functools
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewTopic

from tests.cluster.brokers import Cluster, admin, view, wait_for
from tests.harness import BrokerProcess
from tests.testkit.cli import kafkish
from tests.zookeeper import ZooKeeperServer

RATE = 200_000  # bytes/s
WINDOW_NUM = 3  # replication.quota.window.num
FETCH_MAX = 128 * 1024  # replica.fetch.max.bytes
RECORD = 10_000
BACKLOG = 16_000_000  # bytes produced per topic while the follower is down
WINDOW_S = 6.0
RACKS = ("ra", "ra", "rb")  # of brokers 0, 1, 2 (for reassign-partitions --generate)


@pytest.fixture(scope="module")
def cluster(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    chroot = f"{zookeeper.connect}/throttles-{uuid.uuid4().hex[:8]}"
    overrides = {
        "offsets.topic.replication.factor": "1",
        "replica.lag.time.max.ms": "3000",
        "replication.quota.window.num": str(WINDOW_NUM),
        "replica.fetch.max.bytes": str(FETCH_MAX),
    }
    running = Cluster(tmp_path_factory.mktemp("throttles"), chroot, overrides=overrides)
    for broker, rack in zip(running.brokers, RACKS, strict=True):
        broker.overrides["broker.rack"] = rack
    try:
        yield running.start()
    finally:
        running.stop()


def _alter(client: AdminClient, kind: Any, name: str, configs: dict[str, str | None]) -> None:
    ops = [
        ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET if value is not None else
                    AlterConfigOpType.DELETE)
        for key, value in configs.items()
    ]  # fmt: skip
    for future in client.incremental_alter_configs([ConfigResource(kind, name, incremental_configs=ops)]).values():
        future.result(30)


def _create(client: AdminClient, topic: str, replicas: list[int], config: dict[str, str]) -> None:
    new = NewTopic(topic, num_partitions=1, replica_assignment=[replicas], config=config)
    client.create_topics([new], operation_timeout=30)[topic].result(30)


def _size(broker: BrokerProcess, topic: str) -> int:
    """The bytes of partition 0 of ``topic`` in the broker's log dir (its segments)."""
    directory = broker.log_dir / f"{topic}-0"
    if not directory.is_dir():
        return 0
    return sum(entry.stat().st_size for entry in os.scandir(directory) if entry.name.endswith(".log"))


def _same_size(follower: BrokerProcess, leader: BrokerProcess, topic: str) -> bool:
    return _size(follower, topic) == _size(leader, topic)


def _produce(cluster: Cluster, topic: str, total: int, acks: str) -> None:
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": acks, "linger.ms": 5,
                         "compression.type": "none", "message.timeout.ms": 60000})  # fmt: skip
    failures: list[Any] = []
    value = os.urandom(RECORD)
    for _ in range(total // RECORD):
        while True:
            try:
                producer.produce(topic, value, on_delivery=lambda err, _: failures.append(err) if err else None)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(90) == 0 and not failures, failures[:3]


def _in_sync(cluster: Cluster, topic: str, replicas: list[int]) -> bool:
    state = view(cluster.brokers[replicas[0]], [topic])["topics"].get(topic, {}).get(0)
    return state is not None and sorted(state[2]) == sorted(replicas)


def test_in_sync_followers_are_never_throttled(cluster: Cluster) -> None:
    client = admin(cluster.brokers[0])
    throttled_everywhere = {
        "leader.replication.throttled.replicas": "*",
        "follower.replication.throttled.replicas": "*",
    }
    _create(client, "in-sync", [0, 1], throttled_everywhere)
    _alter(client, ResourceType.BROKER, "0", {"leader.replication.throttled.rate": "1000"})
    _alter(admin(cluster.brokers[1]), ResourceType.BROKER, "1", {"follower.replication.throttled.rate": "1000"})
    try:
        wait_for(lambda: _in_sync(cluster, "in-sync", [0, 1]), what="the follower in the ISR")
        _produce(cluster, "in-sync", 4_000_000, acks="all")  # 4000 s at 1000 B/s, were it throttled
        leader, follower = cluster.brokers[0], cluster.brokers[1]
        wait_for(lambda: _size(follower, "in-sync") == _size(leader, "in-sync"), what="the follower at the log end")
        assert _in_sync(cluster, "in-sync", [0, 1])
    finally:
        _alter(client, ResourceType.BROKER, "0", {"leader.replication.throttled.rate": None})
        _alter(admin(cluster.brokers[1]), ResourceType.BROKER, "1", {"follower.replication.throttled.rate": None})


def test_a_follower_out_of_sync_replicates_within_the_quotas_and_catches_up_once_they_go(cluster: Cluster) -> None:
    """Topic "by-follower" (leader 0) is throttled by broker 2's follower quota, topic "by-leader"
    (leader 1) by broker 1's leader quota; broker 2 follows both and is stopped, then restarted."""
    client = admin(cluster.brokers[0])
    _create(client, "by-follower", [0, 2], {"follower.replication.throttled.replicas": "0:2"})
    _create(client, "by-leader", [1, 2], {"leader.replication.throttled.replicas": "0:1"})
    _alter(admin(cluster.brokers[2]), ResourceType.BROKER, "2", {"follower.replication.throttled.rate": str(RATE)})
    _alter(admin(cluster.brokers[1]), ResourceType.BROKER, "1", {"leader.replication.throttled.rate": str(RATE)})
    follower = cluster.brokers[2]
    leaders = {"by-follower": cluster.brokers[0], "by-leader": cluster.brokers[1]}
    follower.stop()
    for topic, replicas in (("by-follower", [0]), ("by-leader", [1])):
        wait_for(functools.partial(_in_sync, cluster, topic, replicas), what=f"{topic}'s ISR without broker 2")
        _produce(cluster, topic, BACKLOG, acks="1")
    try:
        follower.start()
        start = time.monotonic()
        before = {topic: _size(follower, topic) for topic in leaders}
        time.sleep(WINDOW_S)
        elapsed = time.monotonic() - start
        got = {topic: _size(follower, topic) - before[topic] for topic in leaders}
        bound = 2 * (RATE * (elapsed + WINDOW_NUM + 1) + FETCH_MAX)
        assert got["by-follower"] <= bound, (got, bound)
        assert got["by-leader"] <= bound, (got, bound)
    finally:  # at run time, no restart: the rates go and the follower catches up
        _alter(admin(follower), ResourceType.BROKER, "2", {"follower.replication.throttled.rate": None})
        _alter(admin(cluster.brokers[1]), ResourceType.BROKER, "1", {"leader.replication.throttled.rate": None})
    for topic, leader in leaders.items():
        leader_id = cluster.brokers.index(leader)
        wait_for(functools.partial(_same_size, follower, leader, topic), timeout_s=120, what=f"{topic} caught up")
        wait_for(functools.partial(_in_sync, cluster, topic, [leader_id, 2]), what=f"{topic}'s ISR with broker 2")


def test_bad_throttle_values_get_invalid_config(cluster: Cluster) -> None:
    client = admin(cluster.brokers[0])
    _create(client, "bad-throttles", [0, 1], {})
    cases: list[tuple[Any, str, str, str]] = [
        (ResourceType.TOPIC, "bad-throttles", "leader.replication.throttled.replicas", "0-1"),
        (ResourceType.TOPIC, "bad-throttles", "follower.replication.throttled.replicas", "*,0:1"),
        (ResourceType.BROKER, "0", "leader.replication.throttled.rate", "-1"),
        (ResourceType.BROKER, "0", "follower.replication.throttled.rate", "fast"),
    ]
    for kind, name, key, value in cases:
        with pytest.raises(KafkaException) as failure:
            _alter(client, kind, name, {key: value})
        error = failure.value.args[0]
        assert error.name() == "INVALID_CONFIG", (key, error)
        assert f"for configuration {key}" in error.str(), error.str()
    with pytest.raises(KafkaException) as failure:  # a throttle list names partitions, not brokers only
        _alter(client, ResourceType.TOPIC, "bad-throttles", {"leader.replication.throttled.replicas": "1"})
    assert "must be the literal '*' or a list of replicas" in failure.value.args[0].str()


def _proposed(stdout: str) -> dict[int, list[int]]:
    plan = json.loads(stdout.split("Proposed partition reassignment configuration\n", 1)[1])
    return {p["partition"]: p["replicas"] for p in plan["partitions"]}


def test_generate_proposes_kafkas_rack_aware_assignment(cluster: Cluster, tmp_path: Path) -> None:
    client = admin(cluster.brokers[0])
    client.create_topics([NewTopic("spread", 6, replica_assignment=[[0, 1]] * 6)])["spread"].result(30)
    topics = tmp_path / "topics.json"
    topics.write_text(json.dumps({"version": 1, "topics": [{"topic": "spread"}]}))
    args = ["reassign-partitions", "--bootstrap-server", cluster.bootstrap, "--generate",
            "--topics-to-move-json-file", str(topics), "--broker-list", "0,1,2"]  # fmt: skip
    for _ in range(3):  # each run starts at random
        aware = kafkish(*args)
        assert aware.code == 0, aware.stderr
        plan = _proposed(aware.stdout)
        assert sorted(plan) == list(range(6))
        assert all(sorted(RACKS[b] for b in replicas) == ["ra", "rb"] for replicas in plan.values()), plan
    unaware = kafkish(*args, "--disable-rack-aware")
    assert unaware.code == 0, unaware.stderr
    # rack-unaware, 3 brokers and 2 replicas: one half of the partitions pairs 0 with 1, whatever the start
    assert any(sorted(replicas) == [0, 1] for replicas in _proposed(unaware.stdout).values())


def _verified(args: list[str]) -> Any:
    """``--verify``'s run once nothing moves (it then clears the throttles), else None."""
    run = kafkish("reassign-partitions", *args, "--verify")
    return run if run.code == 0 and "still in progress" not in run.stdout else None


def _configs(cluster: Cluster, kind: Any, name: str, keys: tuple[str, ...]) -> dict[str, str | None]:
    broker = cluster.brokers[int(name)] if kind == ResourceType.BROKER else cluster.brokers[0]
    resource, client = ConfigResource(kind, name), admin(broker)
    described = client.describe_configs([resource])[resource].result(30)
    return {key: described[key].value if key in described else None for key in keys}


def test_execute_with_a_throttle_sets_kafkas_throttles_and_verify_clears_them(cluster: Cluster, tmp_path: Path) -> None:
    _create(admin(cluster.brokers[0]), "moving", [0, 1], {})
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [{"topic": "moving", "partition": 0, "replicas": [0, 2]}]}))
    b = ["--bootstrap-server", cluster.bootstrap, "--reassignment-json-file", str(plan)]
    executed = kafkish("reassign-partitions", *b, "--execute", "--throttle", "5000000")
    assert executed.code == 0, executed.stderr
    assert executed.stdout.endswith(
        "Save this to use as the --reassignment-json-file option during rollback\n"
        "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle "
        "is removed.\nThe inter-broker throttle limit was set to 5000000 B/s\n"
        "Successfully started partition reassignment for moving-0\n"
    ), executed.stdout
    lists = ("leader.replication.throttled.replicas", "follower.replication.throttled.replicas")
    rates = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")
    assert _configs(cluster, ResourceType.TOPIC, "moving", lists) == dict(zip(lists, ["0:0,0:1", "0:2"], strict=True))
    for broker in ("0", "1", "2"):
        assert _configs(cluster, ResourceType.BROKER, broker, rates) == dict.fromkeys(rates, "5000000"), broker
    verified = wait_for(functools.partial(_verified, b), timeout_s=60, what="the move to end")
    assert "Clearing broker-level throttles on brokers 0,1,2" in verified.stdout, verified.stdout
    assert _configs(cluster, ResourceType.TOPIC, "moving", lists) == dict(zip(lists, ["", ""], strict=True))
    for broker in ("0", "1", "2"):
        assert _configs(cluster, ResourceType.BROKER, broker, rates) == dict.fromkeys(rates, str(2**63 - 1)), broker

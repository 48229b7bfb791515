"""Cluster mode end to end: a real ZooKeeper, three real broker processes, stock clients.

Most topics that clients produce to and consume from here have replication factor 1, spread over the
three brokers, so that each broker leads some; ``__consumer_offsets`` keeps Kafka's default of 3
replicas (fewer partitions than Kafka's 50, to keep the module quick). Replication itself (followers
fetching, ISR changes, a leader's death) is tested in test_replication.py and test_isr_changes.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.cimpl import NewPartitions, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kazoo.client import KazooClient

from protocol.errors import ErrorCode
from protocol.messages.find_coordinator import FIND_COORDINATOR, FindCoordinatorRequest, FindCoordinatorResponse
from protocol.messages.init_producer_id import INIT_PRODUCER_ID, InitProducerIdRequest
from protocol.messages.update_metadata import UPDATE_METADATA, UpdateMetadataRequest
from tests.cluster.brokers import Cluster, admin, metadata, view, wait_for
from tests.harness import BrokerProcess, free_port
from tests.raw_client import RawClient, batch
from tests.zookeeper import ZooKeeperServer

KCAT = shutil.which("kcat") or "kcat"


@pytest.fixture(scope="module")
def cluster(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    chroot = f"{zookeeper.connect}/cluster-{uuid.uuid4().hex[:8]}"
    running = Cluster(tmp_path_factory.mktemp("cluster"), chroot, overrides={"offsets.topic.num.partitions": "5"})
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture
def zk(cluster: Cluster) -> Iterator[KazooClient]:
    client = KazooClient(hosts=cluster.zk_connect)
    client.start(timeout=15)
    try:
        yield client
    finally:
        client.stop()
        client.close()


def create(cluster: Cluster, via: BrokerProcess, topic: str, partitions: int, factor: int) -> None:
    client = admin(via)  # kept: the futures fail if their client is gone
    for future in client.create_topics([NewTopic(topic, partitions, factor)], operation_timeout=30).values():
        future.result(timeout=60)


def test_brokers_register_and_one_controller_is_seen_by_all(cluster: Cluster, zk: KazooClient) -> None:
    assert sorted(zk.get_children("/brokers/ids")) == ["0", "1", "2"]
    controller = json.loads(zk.get("/controller")[0])["brokerid"]
    ids = [(b.id) for b in metadata(cluster.brokers[0]).brokers.values()]
    assert sorted(ids) == [0, 1, 2]
    wait_for(lambda: all(view(b)["controller"] == controller for b in cluster.brokers), what="all to name it")
    for broker in cluster.brokers:
        assert [row[0] for row in view(broker)["brokers"]] == [0, 1, 2]


def test_replication_factor_3_spreads_leaders_and_every_broker_agrees(cluster: Cluster, zk: KazooClient) -> None:
    create(cluster, cluster.brokers[1], "spread", 6, 3)

    def agreed() -> list[dict[str, Any]] | None:
        views = [view(b, ["spread"]) for b in cluster.brokers]
        return views if views[0] == views[1] == views[2] else None

    views = wait_for(agreed, what="every broker to answer the same Metadata")
    partitions = views[0]["topics"]["spread"]
    assert len(partitions) == 6
    assert {leader for leader, _, _ in partitions.values()} == {0, 1, 2}
    for leader, replicas, isr in partitions.values():
        assert sorted(replicas) == [0, 1, 2] and leader == replicas[0] and sorted(isr) == [0, 1, 2]
    state = json.loads(zk.get("/brokers/topics/spread/partitions/0/state")[0])
    assert state["leader"] == partitions[0][0] and state["leader_epoch"] == 0
    for broker in cluster.brokers:  # every replica holds the partition's log
        assert all((broker.log_dir / f"spread-{p}").is_dir() for p in range(6))


def test_create_topic_errors(cluster: Cluster) -> None:
    create(cluster, cluster.brokers[0], "twice", 1, 1)
    client = admin(cluster.brokers[2])
    futures = client.create_topics([NewTopic("twice", 1, 1), NewTopic("too-many", 1, 4)])
    with pytest.raises(Exception) as exists:
        futures["twice"].result(timeout=30)
    assert exists.value.args[0].code() == ErrorCode.TOPIC_ALREADY_EXISTS
    with pytest.raises(Exception) as factor:
        futures["too-many"].result(timeout=30)
    assert factor.value.args[0].code() == ErrorCode.INVALID_REPLICATION_FACTOR


def test_stock_clients_produce_and_consume_through_any_broker(cluster: Cluster) -> None:
    topic = "traffic"
    create(cluster, cluster.brokers[2], topic, 6, 1)
    leaders = {leader for leader, _, _ in view(cluster.brokers[0], [topic])["topics"][topic].values()}
    assert leaders == {0, 1, 2}
    producer = Producer({"bootstrap.servers": cluster.brokers[1].bootstrap})
    for i in range(30):
        producer.produce(topic, f"confluent-{i}".encode(), key=str(i).encode())
    assert producer.flush(30) == 0
    kp = KafkaProducer(bootstrap_servers=cluster.brokers[2].bootstrap)
    for i in range(30):
        kp.send(topic, f"kafka-python-{i}".encode(), key=str(i).encode())
    kp.flush(30)
    kp.close()
    subprocess.run(
        [KCAT, "-b", cluster.brokers[0].bootstrap, "-P", "-t", topic, "-K", ":"],
        input="".join(f"{i}:kcat-{i}\n" for i in range(30)).encode(), check=True, timeout=60,
    )  # fmt: skip
    expected = {f"{who}-{i}" for who in ("confluent", "kafka-python", "kcat") for i in range(30)}

    consumer = Consumer({
        "bootstrap.servers": cluster.brokers[0].bootstrap, "group.id": "cluster-confluent",
        "auto.offset.reset": "earliest",
    })  # fmt: skip
    consumer.subscribe([topic])
    got: set[str] = set()
    wait_for(lambda: _poll_into(consumer, got) >= len(expected), 60, "confluent-kafka to read every record")
    consumer.close()
    assert got == expected

    kc = KafkaConsumer(
        topic, bootstrap_servers=cluster.brokers[2].bootstrap, group_id="cluster-kafka-python",
        auto_offset_reset="earliest", consumer_timeout_ms=20000,
    )  # fmt: skip
    seen = set()
    for message in kc:
        seen.add(message.value.decode())
        if len(seen) == len(expected):
            break
    kc.close()
    assert seen == expected

    out = subprocess.run(
        [KCAT, "-b", cluster.brokers[1].bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    assert set(out.stdout.decode().split()) == expected


def _poll_into(consumer: Consumer, got: set[str]) -> int:
    message = consumer.poll(0.5)
    if message is not None and message.error() is None:
        got.add(bytes(message.value() or b"").decode())
    return len(got)


def test_config_changes_partitions_and_deletion_reach_every_broker(cluster: Cluster, zk: KazooClient) -> None:
    topic = "lifecycle"
    client = admin(cluster.brokers[0])
    new = NewTopic(topic, 1, 1, config={"cleanup.policy": "compact"})
    for future in client.create_topics([new], operation_timeout=30).values():
        future.result(timeout=60)

    def described(broker: BrokerProcess, name: str) -> str:
        other = admin(broker)
        result = other.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)])
        return str(next(iter(result.values())).result(timeout=30)[name].value)

    # one replica, yet every broker describes the topic's configs alike
    wait_for(lambda: all(described(b, "cleanup.policy") == "compact" for b in cluster.brokers), what="configs")
    entry = ConfigEntry("retention.ms", "123456", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[entry])
    client = admin(cluster.brokers[1])
    for future in client.incremental_alter_configs([resource]).values():
        future.result(timeout=30)
    assert json.loads(zk.get(f"/config/topics/{topic}")[0])["config"] == {
        "cleanup.policy": "compact",
        "retention.ms": "123456",
    }

    wait_for(lambda: all(described(b, "retention.ms") == "123456" for b in cluster.brokers), what="retention.ms")

    for future in client.create_partitions([NewPartitions(topic, 4)]).values():
        future.result(timeout=30)
    wait_for(
        lambda: all(len(view(b, [topic])["topics"].get(topic, {})) == 4 for b in cluster.brokers),
        what="4 partitions everywhere",
    )

    holders = [b for b in cluster.brokers if any(b.log_dir.glob(f"{topic}-*"))]
    assert holders
    for future in client.delete_topics([topic], operation_timeout=30).values():
        future.result(timeout=60)
    wait_for(lambda: all(topic not in view(b)["topics"] for b in cluster.brokers), what="the topic to go everywhere")
    wait_for(lambda: not any(p.is_dir() for b in holders for p in b.log_dir.glob(f"{topic}-*")), what="its directories")
    znodes = (f"/brokers/topics/{topic}", f"/admin/delete_topics/{topic}", f"/config/topics/{topic}")
    wait_for(lambda: not any(zk.exists(path) for path in znodes), what="the topic's znodes to go")


def test_controller_requests_from_anyone_else_are_refused(cluster: Cluster) -> None:
    before = view(cluster.brokers[0])
    client = RawClient(cluster.brokers[0])
    forged = UpdateMetadataRequest(controller_id=99, controller_epoch=1000, broker_epoch=-1, live_brokers=[])
    response = client.request(UPDATE_METADATA.key, 7, forged)
    assert response.error_code == ErrorCode.STALE_CONTROLLER_EPOCH
    assert view(cluster.brokers[0]) == before


def test_controller_killed_another_takes_over_and_moves_leadership(zookeeper: ZooKeeperServer, tmp_path: Path) -> None:
    chroot = f"{zookeeper.connect}/failover-{uuid.uuid4().hex[:8]}"
    cluster = Cluster(tmp_path, chroot).start()
    try:
        create(cluster, cluster.brokers[0], "moving", 3, 3)
        create(cluster, cluster.brokers[0], "doomed", 3, 3)
        client = admin(cluster.brokers[1])
        single = NewTopic("single", num_partitions=3, replica_assignment=[[0], [1], [2]])
        for future in client.create_topics([single], operation_timeout=30).values():
            future.result(timeout=60)
        controller = view(cluster.brokers[0])["controller"]
        before = view(cluster.brokers[0], ["moving"])["topics"]["moving"]
        victim = cluster.brokers[controller]
        victim.kill()
        survivor = next(b for b in cluster.brokers if b is not victim)

        def moved() -> bool:
            now = view(survivor, ["moving"])
            partitions = now["topics"]["moving"]
            return (
                now["controller"] not in (-1, controller)
                and [row[0] for row in now["brokers"]] == sorted({0, 1, 2} - {controller})
                and all(leader != controller and leader >= 0 for leader, _, _ in partitions.values())
            )

        wait_for(moved, 60, "a new controller and new leaders")
        after = view(survivor, ["moving"])["topics"]["moving"]
        for index, (leader, replicas, isr) in after.items():
            assert replicas == before[index][1]
            assert controller not in isr
            if before[index][0] == controller:
                assert leader == next(r for r in before[index][2] if r != controller)
        other = next(b for b in cluster.alive() if b is not survivor)
        wait_for(lambda: view(survivor) == view(other), what="the survivors to agree")
        # its only replica is dead: offline (leader -1), never led by a broker outside the ISR
        assert view(survivor, ["single"])["topics"]["single"][controller][0] == -1

        # deleted while one replica is down: gone from the metadata, its znodes wait for that replica
        deleter = admin(survivor)
        for future in deleter.delete_topics(["doomed"], operation_timeout=30).values():
            future.result(timeout=60)
        # the answer came from the controller's broker once its metadata dropped the topic (as Kafka's
        # DeleteTopics waits on the broker it went to); the others follow with the UpdateMetadata
        wait_for(lambda: all("doomed" not in view(b)["topics"] for b in cluster.alive()), what="doomed gone")
        zk = KazooClient(hosts=chroot)
        zk.start(timeout=15)
        try:
            assert zk.exists("/brokers/topics/doomed") and zk.exists("/admin/delete_topics/doomed")
            assert any(victim.log_dir.glob("doomed-*"))

            victim.restart(clean=False)  # it comes back: it leads its partition again, and deletes
            wait_for(
                lambda: view(survivor, ["single"])["topics"]["single"][controller][0] == controller,
                60,
                "the partition to come back online",
            )
            wait_for(lambda: not any(p.is_dir() for p in victim.log_dir.glob("doomed-*")), 60, "its replicas deleted")
            wait_for(lambda: not zk.exists("/brokers/topics/doomed"), what="the deletion to complete")
            assert not zk.exists("/admin/delete_topics/doomed")
        finally:
            zk.stop()
            zk.close()
    finally:
        cluster.stop()


def test_zookeeper_unreachable_at_start_exits_1_naming_the_address(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    broker = BrokerProcess(
        tmp_path, {"zookeeper.connect": address, "zookeeper.connection.timeout.ms": "1500"}, start_timeout_s=30
    )
    broker.start()  # returns once the process has ended without ever listening
    assert broker.process is not None
    assert broker.process.wait(30) == 1
    assert f"Timed out waiting for connection to {address}" in broker.output
    assert not os.path.exists(broker.log_dir / "meta.properties")


def test_offsets_topic_waits_for_enough_brokers_and_producer_ids_never_repeat(
    zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    """offsets.topic.replication.factor=3 (the default): FindCoordinator answers COORDINATOR_NOT_AVAILABLE
    while two brokers are alive, and the coordinator once the third joins. Producer ids come in blocks
    from /latest_producer_id_block, so two brokers never hand out the same one."""
    chroot = f"{zookeeper.connect}/offsets-{uuid.uuid4().hex[:8]}"
    cluster = Cluster(tmp_path, chroot)
    try:
        for broker in cluster.brokers[:2]:
            broker.start()

        def find(broker: BrokerProcess) -> FindCoordinatorResponse:
            response: FindCoordinatorResponse = RawClient(broker).request(
                FIND_COORDINATOR.key, 1, FindCoordinatorRequest(key="a-group", key_type=0)
            )
            return response

        wait_for(lambda: len(view(cluster.brokers[0])["brokers"]) == 2, what="two live brokers")
        assert find(cluster.brokers[0]).error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE
        assert find(cluster.brokers[1]).error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE
        cluster.brokers[2].start()
        found = wait_for(lambda: (r := find(cluster.brokers[1])).error_code == ErrorCode.NONE and r, 60, "coordinator")
        assert found.node_id in (0, 1, 2)
        partitions = wait_for(
            lambda: view(cluster.brokers[0], ["__consumer_offsets"])["topics"].get("__consumer_offsets"),
            what="__consumer_offsets everywhere",
        )
        assert len(partitions) == 50 and all(len(replicas) == 3 for _, replicas, _ in partitions.values())

        ids = [
            RawClient(broker).request(INIT_PRODUCER_ID.key, 1, InitProducerIdRequest(transactional_id=None)).producer_id
            for broker in cluster.brokers
        ]
        assert len(set(ids)) == 3 and all(i >= 0 for i in ids)
    finally:
        cluster.stop()


def test_a_partition_led_elsewhere_answers_not_leader_or_follower(cluster: Cluster) -> None:
    create(cluster, cluster.brokers[0], "elsewhere", 1, 3)
    leader = wait_for(lambda: view(cluster.brokers[1], ["elsewhere"])["topics"].get("elsewhere"), what="it")[0][0]
    for broker in cluster.brokers:
        client = RawClient(broker)
        produced = client.produce("elsewhere", batch(b"v"), acks=1).responses[0].partition_responses[0]
        fetched = client.fetch("elsewhere", 0).responses[0].partitions[0]
        if cluster.brokers.index(broker) == leader:
            assert produced.error_code == ErrorCode.NONE and fetched.error_code == ErrorCode.NONE

            # acks=1: answered once the leader has it; committed (high watermark 1) once followers fetch it
            def committed(c: RawClient = client) -> bool:
                return int(c.fetch("elsewhere", 0).responses[0].partitions[0].high_watermark) == 1

            assert wait_for(committed, what="the followers to replicate the record")
        else:  # a follower (it holds the log) answers as Kafka's do, and clients go to the leader
            assert produced.error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER
            assert fetched.error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER


def test_aiokafka_and_kafkajs_produce_and_consume_through_any_broker(cluster: Cluster) -> None:
    topic = "more-clients"
    create(cluster, cluster.brokers[1], topic, 3, 1)

    async def aiokafka_round_trip() -> set[str]:
        producer = AIOKafkaProducer(bootstrap_servers=cluster.brokers[0].bootstrap)
        await producer.start()
        try:
            for i in range(12):
                await producer.send_and_wait(topic, f"aiokafka-{i}".encode(), partition=i % 3)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=cluster.brokers[2].bootstrap, group_id="cluster-aiokafka",
            auto_offset_reset="earliest",
        )  # fmt: skip
        await consumer.start()
        seen: set[str] = set()
        try:
            async with asyncio.timeout(60):
                while len(seen) < 12:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        seen.update(bytes(r.value or b"").decode() for r in records)
        finally:
            await consumer.stop()
        return seen

    assert asyncio.run(aiokafka_round_trip()) == {f"aiokafka-{i}" for i in range(12)}

    node = shutil.which("node")
    script = Path(__file__).resolve().parent.parent / "clients" / "js" / "produce_consume.js"
    assert node is not None and (script.parent / "node_modules" / "kafkajs").is_dir(), "kafkajs: make unit"
    create(cluster, cluster.brokers[0], "kafkajs-only", 3, 1)
    done = subprocess.run(
        [node, str(script), cluster.brokers[1].bootstrap, "kafkajs-only", "cluster-kafkajs", "9", "100"],
        capture_output=True, text=True, timeout=90, cwd=script.parent, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])["seen"]
    assert sorted(seen) == [str(i) for i in range(100, 109)]


def test_a_malformed_topic_znode_is_skipped_and_the_cluster_goes_on(cluster: Cluster, zk: KazooClient) -> None:
    zk.create("/brokers/topics/garbled", b"{not json")
    create(cluster, cluster.brokers[2], "after-garbled", 2, 1)
    for broker in cluster.brokers:
        topics = view(broker)["topics"]
        assert "garbled" not in topics
        assert broker.process is not None and broker.process.poll() is None
    wait_for(lambda: all("after-garbled" in view(b)["topics"] for b in cluster.brokers), what="the next topic")
    assert any("malformed znode /brokers/topics/garbled" in b.output for b in cluster.brokers)


def test_auto_created_topics_take_the_same_path(cluster: Cluster, zk: KazooClient) -> None:
    RawClient(cluster.brokers[2]).create_topic("auto-made")  # Metadata with auto-creation
    assert zk.exists("/brokers/topics/auto-made")
    wait_for(
        lambda: all(len(view(b, ["auto-made"])["topics"].get("auto-made", {})) == 1 for b in cluster.brokers),
        what="the auto-created topic everywhere",
    )
    leader, replicas, _ = view(cluster.brokers[0], ["auto-made"])["topics"]["auto-made"][0]
    assert leader in (0, 1, 2) and replicas == [leader]  # default.replication.factor=1


def test_a_paused_controller_loses_its_session_resigns_and_rejoins(zookeeper: ZooKeeperServer, tmp_path: Path) -> None:
    """SIGSTOP (a long pause) for longer than the session timeout: ZooKeeper expires the controller's
    session, another broker takes over; on SIGCONT the old one finds its session gone, resigns,
    registers again with a new broker epoch, and follows the new controller."""
    chroot = f"{zookeeper.connect}/paused-{uuid.uuid4().hex[:8]}"
    cluster = Cluster(tmp_path, chroot, overrides={"offsets.topic.replication.factor": "1"}).start()
    zk = KazooClient(hosts=chroot)
    zk.start(timeout=15)
    try:
        create(cluster, cluster.brokers[0], "paused", 3, 1)
        controller = json.loads(zk.get("/controller")[0])["brokerid"]
        epoch_before = zk.get(f"/brokers/ids/{controller}")[1].czxid
        paused = cluster.brokers[controller]
        assert paused.process is not None
        paused.process.send_signal(signal.SIGSTOP)
        try:
            wait_for(lambda: json.loads(zk.get("/controller")[0])["brokerid"] != controller, 60, "a new controller")
        finally:
            paused.process.send_signal(signal.SIGCONT)
        new_controller = json.loads(zk.get("/controller")[0])["brokerid"]
        wait_for(lambda: zk.exists(f"/brokers/ids/{controller}"), 60, "the paused broker to register again")
        assert zk.get(f"/brokers/ids/{controller}")[1].czxid != epoch_before  # a new broker epoch
        wait_for(
            lambda: all(
                view(b)["controller"] == new_controller and len(view(b)["brokers"]) == 3 for b in cluster.brokers
            ),
            60,
            "every broker to follow the new controller",
        )
        assert "resigns as the controller" in paused.output
        # its partition is served again, and clients reach it through any broker
        producer = Producer({"bootstrap.servers": cluster.brokers[new_controller].bootstrap})
        for partition in range(3):
            producer.produce("paused", b"after", partition=partition)
        assert producer.flush(30) == 0
        # config changes made after its new session still reach it (the lost watch was set again)
        entry = ConfigEntry("retention.ms", "4242", incremental_operation=AlterConfigOpType.SET)
        changer = admin(cluster.brokers[new_controller])
        resource = ConfigResource(ConfigResource.Type.TOPIC, "paused", incremental_configs=[entry])
        for future in changer.incremental_alter_configs([resource]).values():
            future.result(timeout=30)

        def retention() -> str:
            asked = admin(paused)
            result = asked.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "paused")])
            return str(next(iter(result.values())).result(timeout=30)["retention.ms"].value)

        wait_for(lambda: retention() == "4242", what="the paused broker to see the config change")
    finally:
        zk.stop()
        zk.close()
        cluster.stop()


def test_a_second_broker_with_a_live_brokers_id_exits_1(cluster: Cluster, tmp_path: Path) -> None:
    twin = BrokerProcess(tmp_path, {"zookeeper.connect": cluster.zk_connect, "broker.id": "1"})
    twin.start()  # returns once the process has ended without ever listening
    assert twin.process is not None and twin.process.wait(30) == 1
    assert "Error while creating ephemeral at /brokers/ids/1, node already exists" in twin.output
    assert [row[0] for row in view(cluster.brokers[1])["brokers"]] == [0, 1, 2]

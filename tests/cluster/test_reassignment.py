"""Partition reassignment (KIP-455) on a real 4-broker cluster, as a user drives it: AlterPartitionReassignments
and ListPartitionReassignments through kafka-python's admin client (sent to the controller), the
/admin/reassign_partitions znode written with a plain ZooKeeper client as Kafka's old tool writes it.

The moves run under an idempotent acks=all producer: every acknowledged record is read back once and in
order (``assert_delivery``), the target replicas end byte-identical below the high watermark and the
removed replicas' partition directories are gone from their brokers' disks. A reassignment that cannot
finish (a target broker that does not exist, or one stopped with SIGSTOP) shows what is in progress.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import NoReassignmentInProgressError, UnknownTopicOrPartitionError
from kazoo.client import KazooClient

from kafkish.testing.replicas import replica_differences
from protocol.errors import ErrorCode
from protocol.messages.alter_partition_reassignments import (
    ALTER_PARTITION_REASSIGNMENTS,
    AlterPartitionReassignmentsRequest,
    ReassignablePartition,
    ReassignableTopic,
)
from protocol.messages.list_partition_reassignments import (
    LIST_PARTITION_REASSIGNMENTS,
    ListPartitionReassignmentsRequest,
)
from tests.cluster.brokers import Cluster, metadata, wait_for
from tests.cluster.replicated import IdempotentWriter
from tests.raw_client import RawClient
from tests.zookeeper import ZooKeeperServer

Setup = tuple[Cluster, KazooClient]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    from tests.cluster.conftest import _require_zookeeper

    _require_zookeeper()
    with ZooKeeperServer(tmp_path_factory.mktemp("zk")) as server:
        chroot = f"/reassign-{uuid.uuid4().hex[:8]}"
        overrides = {"auto.leader.rebalance.enable": "false", "replica.fetch.backoff.ms": "200",
                     "offsets.topic.num.partitions": "1"}  # fmt: skip
        cluster = Cluster(tmp_path_factory.mktemp("brokers"), server.connect + chroot, size=4, overrides=overrides)
        cluster.start()
        zk = KazooClient(hosts=server.connect + chroot)
        zk.start(15)
        try:
            yield cluster, zk
        finally:
            zk.stop()
            cluster.stop()


PAUSED: set[int] = set()  # brokers stopped with SIGSTOP: not to bootstrap from


def kafka_admin(cluster: Cluster) -> KafkaAdminClient:
    bootstrap = [b.bootstrap for i, b in enumerate(cluster.brokers) if i not in PAUSED]
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=60000)


def create(cluster: Cluster, zk: KazooClient, topic: str, replicas: list[int], partitions: int = 1) -> None:
    client = kafka_admin(cluster)
    try:
        assignments = dict.fromkeys(range(partitions), replicas)
        configs = {"min.insync.replicas": "2"}
        client.create_topics([NewTopic(topic, replica_assignments=assignments, topic_configs=configs)])
    finally:
        client.close()
    wait_for(lambda: sorted(state(zk, topic)["isr"]) == sorted(replicas), what=f"{topic} in sync")


def state(zk: KazooClient, topic: str, partition: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(zk.get(f"/brokers/topics/{topic}/partitions/{partition}/state")[0])
    return result


def assignment(zk: KazooClient, topic: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(zk.get(f"/brokers/topics/{topic}")[0])
    return result


def reassign(cluster: Cluster, wanted: dict[tuple[str, int], list[int] | None]) -> dict[tuple[str, int], Any]:
    client = kafka_admin(cluster)
    try:
        answer = client.alter_partition_reassignments({TopicPartition(t, p): r for (t, p), r in wanted.items()})
        return {(tp.topic, tp.partition): error for tp, error in answer.items()}
    finally:
        client.close()


def ongoing(cluster: Cluster) -> dict[tuple[str, int], Any]:
    client = kafka_admin(cluster)
    try:
        return {(tp.topic, tp.partition): s for tp, s in client.list_partition_reassignments().items()}
    finally:
        client.close()


def moved(cluster: Cluster, zk: KazooClient, topic: str, target: list[int]) -> bool:
    """Done as every broker sees it: ZooKeeper's assignment, no reassignment listed, Metadata's replicas."""
    data = assignment(zk, topic)
    if data["partitions"]["0"] != target or data["adding_replicas"] or data["removing_replicas"]:
        return False
    if sorted(state(zk, topic)["isr"]) != sorted(target):
        return False
    views = [metadata(b).topics[topic].partitions[0] for b in cluster.alive()]
    return all(list(v.replicas) == target and v.leader in target for v in views)


def partition_dir(cluster: Cluster, broker: int, topic: str) -> Path:
    return Path(cluster.brokers[broker].log_dir) / f"{topic}-0"


def check_disks(cluster: Cluster, topic: str, target: list[int], removed: list[int]) -> None:
    """Target replicas byte-identical below the high watermark; removed replicas' directories gone."""
    dirs = [partition_dir(cluster, b, topic) for b in target]
    wait_for(lambda: not replica_differences(dirs, _high_watermark(cluster, topic)), timeout_s=60,
             what=f"{topic}'s target replicas identical")  # fmt: skip
    for broker in removed:
        wait_for(lambda b=broker: not partition_dir(cluster, b, topic).exists(), timeout_s=30,  # type: ignore[misc]
                 what=f"{topic}-0 deleted from broker {broker}")  # fmt: skip


def _high_watermark(cluster: Cluster, topic: str) -> int:
    from confluent_kafka import Consumer
    from confluent_kafka import TopicPartition as CTopicPartition

    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "hw"})
    try:
        return int(consumer.get_watermark_offsets(CTopicPartition(topic, 0), timeout=30)[1])
    finally:
        consumer.close()


def test_moves_under_an_idempotent_producer_lose_nothing(setup: Setup) -> None:
    """[0,1,2] -> [1,2,3] while a producer writes: the leader 0 leaves, the first target replica takes over."""
    cluster, zk = setup
    create(cluster, zk, "moving", [0, 1, 2])
    with IdempotentWriter(cluster, "moving") as writer:
        assert reassign(cluster, {("moving", 0): [1, 2, 3]}) == {("moving", 0): None}
        wait_for(lambda: moved(cluster, zk, "moving", [1, 2, 3]), timeout_s=60, what="moving-0 on 1,2,3")
        assert state(zk, "moving")["leader"] == 1
        writer.wait_for_more(100)
    assert ongoing(cluster) == {}
    writer.check(cluster)
    check_disks(cluster, "moving", [1, 2, 3], [0])


def test_a_move_to_a_disjoint_set_loses_nothing(setup: Setup) -> None:
    cluster, zk = setup
    create(cluster, zk, "hopping", [0, 1])
    with IdempotentWriter(cluster, "hopping") as writer:
        assert reassign(cluster, {("hopping", 0): [3, 2]}) == {("hopping", 0): None}
        wait_for(lambda: moved(cluster, zk, "hopping", [3, 2]), timeout_s=60, what="hopping-0 on 3,2")
        assert state(zk, "hopping")["leader"] == 3
        writer.wait_for_more(100)
    writer.check(cluster)
    check_disks(cluster, "hopping", [3, 2], [0, 1])


def raw_alter(cluster: Cluster, broker: int, topic: str, partition: int, replicas: list[int] | None) -> int:
    """AlterPartitionReassignments straight to one broker (no client metadata round trips to a paused broker)."""
    client = RawClient(cluster.brokers[broker])
    try:
        wanted = [ReassignableTopic(name=topic, partitions=[ReassignablePartition(partition_index=partition,
                                                                                  replicas=replicas)])]  # fmt: skip
        answer = client.request(ALTER_PARTITION_REASSIGNMENTS.key, 0, AlterPartitionReassignmentsRequest(topics=wanted))
        assert answer.error_code == ErrorCode.NONE, answer
        return int(answer.responses[0].partitions[0].error_code)
    finally:
        client.close()


def raw_ongoing(cluster: Cluster, broker: int) -> list[tuple[str, int]]:
    client = RawClient(cluster.brokers[broker])
    try:
        answer = client.request(LIST_PARTITION_REASSIGNMENTS.key, 0, ListPartitionReassignmentsRequest())
        assert answer.error_code == ErrorCode.NONE, answer
        return [(t.name, p.partition_index) for t in answer.topics for p in t.partitions]
    finally:
        client.close()


def controller_id(cluster: Cluster) -> int:
    asked = next(b for i, b in enumerate(cluster.brokers) if i not in PAUSED and b in cluster.alive())
    return int(metadata(asked).controller_id)


def test_errors_as_kafka_answers_them(setup: Setup) -> None:
    cluster, zk = setup
    create(cluster, zk, "checked", [0, 1, 2], partitions=4)
    controller = controller_id(cluster)
    client = RawClient(cluster.brokers[(controller + 1) % 4])  # clients send these to the controller
    try:
        answer = client.request(ALTER_PARTITION_REASSIGNMENTS.key, 0, AlterPartitionReassignmentsRequest(topics=[
            ReassignableTopic(name="checked", partitions=[ReassignablePartition(partition_index=0, replicas=[1])])
        ]))  # fmt: skip
        assert (answer.error_code, answer.error_message, answer.responses) == (
            ErrorCode.NOT_CONTROLLER, "This is not the correct controller for this cluster.", []
        )  # fmt: skip
        listed = client.request(LIST_PARTITION_REASSIGNMENTS.key, 0, ListPartitionReassignmentsRequest())
        assert listed.error_code == ErrorCode.NOT_CONTROLLER
    finally:
        client.close()
    wanted: list[tuple[str, int, list[int] | None]] = [
        ("checked", 0, []), ("checked", 1, [0, 0]), ("checked", 2, [0, 9]), ("checked", 3, None),
        ("checked", 9, [0]), ("nosuch", 0, [0]),
    ]  # fmt: skip
    topics: dict[str, ReassignableTopic] = {}
    for name, index, replicas in wanted:
        topic = topics.setdefault(name, ReassignableTopic(name=name))
        topic.partitions.append(ReassignablePartition(partition_index=index, replicas=replicas))
    client = RawClient(cluster.brokers[controller])
    try:
        answer = client.request(
            ALTER_PARTITION_REASSIGNMENTS.key, 0, AlterPartitionReassignmentsRequest(topics=list(topics.values()))
        )
        assert (answer.error_code, answer.error_message) == (ErrorCode.NONE, "")  # as a real Kafka 2.4.1
        got = {
            (t.name, p.partition_index): (p.error_code, p.error_message) for t in answer.responses for p in t.partitions
        }
        assert got == {
            ("checked", 0): (ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                             "Empty replica list specified in partition reassignment."),
            ("checked", 1): (ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                             "Duplicate replica ids in partition reassignment replica list: List(0, 0)"),
            ("checked", 2): (ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                             "Replica assignment has brokers that are not alive. Replica list: List(9), "
                             "live broker list: Set(0, 1, 2, 3)"),
            ("checked", 3): (ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No partition reassignment is in progress."),
            ("checked", 9): (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist."),
            ("nosuch", 0): (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist."),
        }  # fmt: skip
        listed = client.request(LIST_PARTITION_REASSIGNMENTS.key, 0, ListPartitionReassignmentsRequest())
        assert (listed.error_code, listed.error_message, listed.topics) == (ErrorCode.NONE, "", [])
    finally:
        client.close()
    assert assignment(zk, "checked")["partitions"] == {str(p): [0, 1, 2] for p in range(4)}


def write_reassign_znode(zk: KazooClient, partitions: dict[tuple[str, int], list[int]]) -> None:
    """What Kafka's ZooKeeper-era kafka-reassign-partitions.sh --zookeeper writes."""
    entries = [{"topic": t, "partition": p, "replicas": r} for (t, p), r in partitions.items()]
    zk.create("/admin/reassign_partitions", json.dumps({"version": 1, "partitions": entries}).encode())


def test_the_admin_znode_starts_reassignments_and_the_api_cancels_them(setup: Setup) -> None:
    """A target broker that does not exist (the znode's targets are not checked, as in Kafka) keeps a
    reassignment in progress: listed, shown, then cancelled through the API, which takes it out of the znode."""
    cluster, zk = setup
    create(cluster, zk, "stuck", [0, 1, 2])
    write_reassign_znode(zk, {("stuck", 0): [0, 1, 7]})
    expected = {"replicas": [0, 1, 7, 2], "adding_replicas": [7], "removing_replicas": [2]}
    wait_for(lambda: ongoing(cluster).get(("stuck", 0)) == expected, what="stuck-0 listed as moving")
    data = assignment(zk, "stuck")
    assert (data["version"], data["partitions"], data["adding_replicas"], data["removing_replicas"]) == (
        3, {"0": [0, 1, 7, 2]}, {"0": [7]}, {"0": [2]}
    )  # fmt: skip
    wait_for(lambda: all(list(metadata(b).topics["stuck"].partitions[0].replicas) == [0, 1, 7, 2]
                         for b in cluster.alive()), what="Metadata showing the full replica set")  # fmt: skip
    assert sorted(state(zk, "stuck")["isr"]) == [0, 1, 2]
    assert reassign(cluster, {("stuck", 0): None}) == {("stuck", 0): None}
    assert zk.exists("/admin/reassign_partitions") is None  # the latest reassignment of a partition wins
    assert ongoing(cluster) == {}
    assert reassign(cluster, {("stuck", 0): None}) == {("stuck", 0): NoReassignmentInProgressError}
    wait_for(lambda: moved(cluster, zk, "stuck", [0, 1, 2]), what="stuck-0 back on 0,1,2")
    write_reassign_znode(zk, {("stuck", 0): [1, 2, 3]})  # one that can complete: the znode goes when it has
    wait_for(lambda: moved(cluster, zk, "stuck", [1, 2, 3]), what="stuck-0 on 1,2,3")
    wait_for(lambda: zk.exists("/admin/reassign_partitions") is None, what="the znode deleted")
    check_disks(cluster, "stuck", [1, 2, 3], [0])


def test_a_topic_deleted_while_it_moves_goes_once_the_move_ends(setup: Setup) -> None:
    cluster, zk = setup
    create(cluster, zk, "doomed", [0, 1, 2])
    assert reassign(cluster, {("doomed", 0): [0, 1, 3]}) == {("doomed", 0): None}
    wait_for(lambda: moved(cluster, zk, "doomed", [0, 1, 3]), what="doomed-0 on 0,1,3")
    write_reassign_znode(zk, {("doomed", 0): [0, 1, 7]})
    wait_for(lambda: ("doomed", 0) in ongoing(cluster), what="doomed-0 moving")
    zk.create("/admin/delete_topics/doomed")  # what DeleteTopics writes; Kafka waits for the reassignment
    assert reassign(cluster, {("doomed", 0): [0, 1, 2]}) == {("doomed", 0): UnknownTopicOrPartitionError}
    assert zk.exists("/brokers/topics/doomed") is not None
    assert reassign(cluster, {("doomed", 0): None}) == {("doomed", 0): None}  # a cancellation may still end it
    wait_for(lambda: zk.exists("/brokers/topics/doomed") is None, what="doomed deleted")
    wait_for(
        lambda: not any(partition_dir(cluster, b, "doomed").exists() for b in range(4)), what="its directories gone"
    )
    wait_for(lambda: all("doomed" not in metadata(b).topics for b in cluster.alive()), what="doomed out of Metadata")


def test_a_controller_killed_mid_move_hands_it_to_the_next_one(setup: Setup) -> None:
    """The broker being added is stopped (SIGSTOP) so the move cannot finish; the controller, one of the
    replicas being removed, is SIGKILLed; the next controller resumes the move from ZooKeeper; the stopped
    broker comes back, catches up and the move completes; the killed broker, back too, deletes its copy."""
    cluster, zk = setup
    controller = controller_id(cluster)
    added = (controller + 1) % 4
    kept = [b for b in range(4) if b not in (controller, added)]
    create(cluster, zk, "failover", [kept[0], controller, kept[1]])
    target = [kept[0], kept[1], added]
    paused = cluster.brokers[added]
    with IdempotentWriter(cluster, "failover") as writer:
        assert paused.process is not None
        paused.process.send_signal(signal.SIGSTOP)
        PAUSED.add(added)
        try:
            assert raw_alter(cluster, controller, "failover", 0, target) == ErrorCode.NONE
            assert assignment(zk, "failover")["adding_replicas"] == {"0": [added]}
            cluster.brokers[controller].kill()
            wait_for(lambda: controller_id(cluster) not in (-1, controller, added), timeout_s=60,
                     what="a new controller")  # fmt: skip
            writer.wait_for_more(100)
            assert ("failover", 0) in raw_ongoing(cluster, controller_id(cluster))  # resumed; its new replica stopped
        finally:
            paused.process.send_signal(signal.SIGCONT)
            PAUSED.discard(added)
        wait_for(lambda: moved(cluster, zk, "failover", target), timeout_s=90, what="failover-0 moved")
        writer.wait_for_more(100)
        cluster.brokers[controller].restart(clean=False)
        wait_for(lambda: not partition_dir(cluster, controller, "failover").exists(), timeout_s=60,
                 what="the removed replica deleted once its broker is back")  # fmt: skip
        writer.wait_for_more(100)
    writer.check(cluster)
    check_disks(cluster, "failover", target, [controller])


def test_kafkish_reassign_partitions_end_to_end(setup: Setup, tmp_path: Path) -> None:
    from tests.testkit.cli import kafkish

    cluster, zk = setup
    create(cluster, zk, "tooled", [0, 1, 2], partitions=2)
    b = ("--bootstrap-server", cluster.bootstrap)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": "tooled", "partition": 0, "replicas": [1, 2, 3]},
        {"topic": "tooled", "partition": 1, "replicas": [3, 2, 1]},
    ]}))  # fmt: skip
    file = ("--reassignment-json-file", str(plan))
    executed = kafkish("reassign-partitions", *b, "--execute", *file)
    current = (
        '{"version":1,"partitions":[{"topic":"tooled","partition":0,"replicas":[0,1,2],"log_dirs":["any","any","any"]},'
        '{"topic":"tooled","partition":1,"replicas":[0,1,2],"log_dirs":["any","any","any"]}]}'
    )
    assert (executed.code, executed.stdout) == (0, (
        f"Current partition replica assignment\n\n{current}\n\n"
        "Save this to use as the --reassignment-json-file option during rollback\n"
        "Successfully started partition reassignments for tooled-0,tooled-1\n"
    )), executed.stderr  # fmt: skip
    completed = (
        "Status of partition reassignment:\nReassignment of partition tooled-0 is completed.\n"
        "Reassignment of partition tooled-1 is completed.\n\n"
        "Clearing broker-level throttles on brokers 0,1,2,3\nClearing topic-level throttles on topic tooled\n"
    )
    wait_for(lambda: kafkish("reassign-partitions", *b, "--verify", *file).stdout == completed, what="--verify")
    assert kafkish("reassign-partitions", *b, "--list").stdout == "No partition reassignments found.\n"
    write_reassign_znode(zk, {("tooled", 0): [1, 2, 7]})  # cannot finish: broker 7 does not exist
    listed = "Current partition reassignments:\ntooled-0: replicas: 1,2,7,3. adding: 7. removing: 3.\n"
    wait_for(lambda: kafkish("reassign-partitions", *b, "--list").stdout == listed, what="--list")
    described = kafkish("topics", *b, "--describe", "--topic", "tooled").stdout.splitlines()
    assert "\tReplicationFactor: 3\t" in described[0], described
    assert described[1].startswith(
        "\tTopic: tooled\tPartition: 0\tLeader: 1\tReplicas: 1,2,7,3\tIsr: 1,2,3"
        "\tAdding Replicas: 7\tRemoving Replicas: 3\t"
    ), described
    assert "Adding" not in described[2]
    plan.write_text(
        json.dumps({"version": 1, "partitions": [{"topic": "tooled", "partition": 0, "replicas": [1, 2, 7]}]})
    )
    cancelled = kafkish("reassign-partitions", *b, "--cancel", *file)
    assert cancelled.stdout.startswith(
        "Successfully cancelled partition reassignment for: tooled-0\nNone of the specified partition moves are active."
    ), cancelled
    assert kafkish("reassign-partitions", *b, "--list").stdout == "No partition reassignments found.\n"
    wait_for(lambda: moved(cluster, zk, "tooled", [1, 2, 3]), what="tooled-0 back on 1,2,3")


KAFKA_BIN = os.environ.get("KAFKA_BIN")


def write_plan(path: Path, partitions: dict[tuple[str, int], list[int]]) -> None:
    entries = [{"topic": t, "partition": p, "replicas": r} for (t, p), r in partitions.items()]
    path.write_text(json.dumps({"version": 1, "partitions": entries}))


def java_tool(bin_dir: Path, *args: str, tool: str = "reassign-partitions") -> str:
    done = subprocess.run([str(bin_dir / f"kafka-{tool}.sh"), *args], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done.stdout


@pytest.mark.skipif(not KAFKA_BIN, reason="set KAFKA_BIN to Kafka's tools' bin/ to compare with them")
def test_kafkas_own_reassign_partitions_tools(setup: Setup, tmp_path: Path) -> None:
    """Kafka 3.x+'s tool (--bootstrap-server: the API) prints what kafkish's prints; Kafka 2.4.1's
    (--zookeeper, beside KAFKA_BIN in shared/kafka-java) writes /admin/reassign_partitions and the
    controller carries it out."""
    from tests.testkit.cli import kafkish

    assert KAFKA_BIN is not None
    cluster, zk = setup
    create(cluster, zk, "javamoved", [0, 1, 2], partitions=2)
    b = ("--bootstrap-server", cluster.bootstrap)
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps({"version": 1, "partitions": [{"topic": "javamoved", "partition": 0, "replicas": [3, 1, 2]}]})
    )
    file = ("--reassignment-json-file", str(plan))
    executed = java_tool(Path(KAFKA_BIN), *b, "--execute", *file)
    assert executed.endswith("Successfully started partition reassignment for javamoved-0\n"), executed
    wait_for(lambda: moved(cluster, zk, "javamoved", [3, 1, 2]), what="javamoved-0 on 3,1,2")
    assert (
        java_tool(Path(KAFKA_BIN), *b, "--verify", *file)
        == kafkish("reassign-partitions", *b, "--verify", *file).stdout
    )
    assert java_tool(Path(KAFKA_BIN), *b, "--list") == "No partition reassignments found.\n"
    write_reassign_znode(zk, {("javamoved", 1): [0, 1, 7]})  # stays in progress: broker 7 does not exist
    wait_for(lambda: ("javamoved", 1) in ongoing(cluster), what="javamoved-1 moving")
    for tool, args in (("reassign-partitions", ["--list"]), ("topics", ["--describe", "--topic", "javamoved"])):
        assert java_tool(Path(KAFKA_BIN), *b, *args, tool=tool) == kafkish(tool, *b, *args).stdout
    assert reassign(cluster, {("javamoved", 1): None}) == {("javamoved", 1): None}
    old = Path(KAFKA_BIN).resolve().parents[1] / "kafka-zk" / "bin"
    if not old.is_dir():
        return
    plan.write_text(
        json.dumps({"version": 1, "partitions": [{"topic": "javamoved", "partition": 1, "replicas": [2, 3]}]})
    )
    z = ("--zookeeper", cluster.zk_connect)
    executed = java_tool(old, *z, "--execute", *file)
    assert "Successfully started reassignment of partitions." in executed, executed
    wait_for(lambda: zk.exists("/admin/reassign_partitions") is None, what="the znode deleted once done")
    assert assignment(zk, "javamoved")["partitions"]["1"] == [2, 3]
    assert "Reassignment of partition javamoved-1 completed successfully" in java_tool(old, *z, "--verify", *file)


def test_a_new_reassignment_replaces_one_in_progress(setup: Setup) -> None:
    """[0,1,2] -> [0,1,3,7] through the znode (3 catches up, 7 never will); then the API asks for [1,2]:
    RS is computed from the original replicas again, the replicas only the old target had (3, 7) are
    stopped and 3's copy deleted, and the move completes at once since 1 and 2 are in sync."""
    cluster, zk = setup
    create(cluster, zk, "replaced", [0, 1, 2])
    write_reassign_znode(zk, {("replaced", 0): [0, 1, 3, 7]})
    wait_for(lambda: 3 in state(zk, "replaced")["isr"], what="broker 3 in sync")
    assert ongoing(cluster)[("replaced", 0)]["adding_replicas"] == [3, 7]
    assert reassign(cluster, {("replaced", 0): [1, 2]}) == {("replaced", 0): None}
    wait_for(lambda: moved(cluster, zk, "replaced", [1, 2]), what="replaced-0 on 1,2")
    assert zk.exists("/admin/reassign_partitions") is None
    check_disks(cluster, "replaced", [1, 2], [0, 3])

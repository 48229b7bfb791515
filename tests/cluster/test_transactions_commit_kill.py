"""A transaction's coordinator dies while its producer commits: three broker processes on a real
ZooKeeper, a topic of replication factor 3 with min.insync.replicas 2, a confluent-kafka transactional
producer (acks=all). The broker coordinating the transactional id gets SIGKILL just after
``commit_transaction()`` started, and is restarted (``commit_kill.run_cycle``): the transaction must end
committed or aborted, as its producer was told, whole or not at all for read_committed consumers; no
client call may run past its timeout; and a new producer of the same id must initialise and commit.

Two kill moments, widened with fault injection: the coordinator holding EndTxn (the kill lands before
it is handled: the client must retry it with the new coordinator), and the other brokers holding
WriteTxnMarkers with the records still in flight when the commit starts (PrepareCommit written, the
markers in flight: the new coordinator must load PrepareCommit and write them again).
``python -m bench.txn_commit_killloop`` runs many more cycles.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka.cimpl import NewTopic

from tests.cluster import commit_kill
from tests.cluster.brokers import Cluster, admin
from tests.zookeeper import ZooKeeperServer


@pytest.fixture(scope="module")
def cluster(zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    chroot = f"{zookeeper.connect}/commit-kill-{uuid.uuid4().hex[:8]}"
    running = Cluster(tmp_path_factory.mktemp("commit-kill"), chroot, overrides=commit_kill.OVERRIDES)
    try:
        running.start()
        topic = NewTopic(commit_kill.TOPIC, commit_kill.PARTITIONS, 3, config={"min.insync.replicas": "2"})
        client = admin(running.brokers[0])
        for future in client.create_topics([topic], operation_timeout=30).values():
            future.result(timeout=60)
        yield running
    finally:
        running.stop()


def test_a_commit_survives_the_death_of_its_coordinator_all_or_nothing(cluster: Cluster) -> None:
    outcomes = [
        commit_kill.run_cycle(cluster, 0, 0.1, hold="EndTxn"),
        commit_kill.run_cycle(cluster, 1, 0.3, hold="WriteTxnMarkers", flushed=False),
    ]
    problems = commit_kill.check(outcomes, commit_kill.read_committed(cluster))
    assert not problems, f"{problems} (outcomes: {outcomes})"

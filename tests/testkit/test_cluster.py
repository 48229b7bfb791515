"""The ``kafka_cluster`` fixture (and so ``kafkish.testing.Cluster``) as a user meets it: sample test modules
run by ``pytester`` on one real ZooKeeper and 3 real brokers in cluster mode, with real clients.

Kafka's defaults throughout: topics with 3 replicas, and ``__consumer_offsets`` with 3 (a subscribing
group) without any override in ``kafka_cluster_config``.
"""

from __future__ import annotations

import pytest

from kafkish.testing.zookeeper import ZooKeeperUnavailable, classpath, java
from tests.testkit.test_plugin import PLUGIN

CLUSTER = """
import time
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic


def test_forms_a_cluster_whose_topics_real_clients_use(kafka_cluster):
    assert kafka_cluster.metadata_broker_ids() == {0, 1, 2}
    assert len(kafka_cluster.bootstrap_servers.split(",")) == 3
    admin = AdminClient({"bootstrap.servers": kafka_cluster.bootstrap_servers})
    admin.create_topics([NewTopic("orders", num_partitions=3, replication_factor=3)])["orders"].result(30)
    producer = Producer({"bootstrap.servers": kafka_cluster.bootstrap_servers})
    for i in range(30):
        producer.produce("orders", value=b"%d" % i, partition=i % 3)
    assert producer.flush(30) == 0
    leaders = {p.leader for p in admin.list_topics(timeout=10).topics["orders"].partitions.values()}
    assert leaders <= {0, 1, 2} and -1 not in leaders
    consumer = Consumer({
        "bootstrap.servers": kafka_cluster.bootstrap_servers, "group.id": "g", "auto.offset.reset": "earliest",
    })
    consumer.subscribe(["orders"])
    seen = set()
    deadline = time.monotonic() + 60
    while len(seen) < 30 and time.monotonic() < deadline:
        message = consumer.poll(1)
        if message is not None and message.error() is None:
            seen.add(int(message.value()))
    consumer.commit(asynchronous=False)
    consumer.close()
    assert seen == set(range(30))
    offsets = admin.list_topics(timeout=10).topics["__consumer_offsets"]
    assert all(len(p.replicas) == 3 for p in offsets.partitions.values())


def test_a_killed_broker_leaves_metadata_and_comes_back_after_restart(kafka_cluster):
    kafka_cluster.kill(1)
    assert not kafka_cluster.broker(1).running()
    kafka_cluster.wait_for_brokers([0, 2], timeout=kafka_cluster.session_timeout_ms / 1000 + 30)  # its session ends
    assert kafka_cluster.metadata_broker_ids(via=0) == {0, 2}
    port = kafka_cluster.broker(1).port
    kafka_cluster.restart(1)
    assert kafka_cluster.broker(1).port == port  # same address: clients' bootstrap lists stay right
    assert kafka_cluster.metadata_broker_ids(via=1) == {0, 1, 2}


def test_a_paused_broker_leaves_and_a_stopped_one_is_left_for_the_fixture(kafka_cluster):
    kafka_cluster.pause(2)
    kafka_cluster.wait_for_brokers([0, 1])
    kafka_cluster.resume(2)
    kafka_cluster.wait_for_brokers([0, 1, 2])
    kafka_cluster.stop_broker(0)  # not restarted here: the fixture heals the cluster before the next test
    kafka_cluster.wait_for_brokers([1, 2])


def test_the_next_test_gets_the_whole_cluster_back(kafka_cluster):
    assert kafka_cluster.running_ids() == [0, 1, 2]
    assert kafka_cluster.metadata_broker_ids() == {0, 1, 2}


def test_zz_a_failing_test_reports_the_brokers_logs(kafka_cluster):
    admin = AdminClient({"bootstrap.servers": kafka_cluster.bootstrap_servers})
    admin.create_topics([NewTopic("failing", num_partitions=1, replication_factor=1)])["failing"].result(30)
    assert False, "the application under test misbehaved"
"""


def _zookeeper_missing() -> str | None:
    try:
        classpath()
        java()
    except ZooKeeperUnavailable as exc:
        return str(exc)
    return None


@pytest.mark.skipif(_zookeeper_missing() is not None, reason=_zookeeper_missing() or "")
def test_kafka_cluster_fixture_kill_pause_restart(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cluster_sample=CLUSTER)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*kafkish cluster broker 0 log*", "*kafkish cluster broker 2 log*"])
    result.stdout.fnmatch_lines(["*the application under test misbehaved*", "*created topic failing*"])


def test_kafka_cluster_is_skipped_with_the_reason_where_zookeeper_cannot_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = pytester.mkdir("no-zookeeper")
    for variable in ("KAFKISH_ZOOKEEPER_CLASSPATH", "ZOOKEEPER_CLASSPATH"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("ZOOKEEPER_HOME", str(empty))
    pytester.makepyfile(test_needs_cluster="def test_it(kafka_cluster):\n    raise AssertionError('ran')\n")
    result = pytester.runpytest(*PLUGIN, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*kafka_cluster needs ZooKeeper: ZOOKEEPER_HOME=*no-zookeeper has no lib/*.jar*"])

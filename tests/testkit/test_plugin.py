"""The pytest plugin as a user meets it: sample test modules run by ``pytester`` against real brokers.

The inner runs load the plugin with ``-p kafkish.pytest_plugin`` (the name of its ``pytest11`` entry
point, so an installed entry point and the flag never register it twice).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ("-p", "kafkish.pytest_plugin", "-p", "no:cacheprovider")

ROUND_TRIP = """
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient


def test_round_trip(kafka_bootstrap, kafka_topic):
    topic = kafka_topic()
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(5):
        producer.produce(topic, value=b"v%d" % i)
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": "g", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    values = []
    while len(values) < 5:
        message = consumer.poll(10)
        assert message is not None and message.error() is None
        values.append(message.value())
    consumer.close()
    assert values == [b"v%d" % i for i in range(5)]


def test_topics_are_fresh_and_unique(kafka_bootstrap, kafka_topic):
    first, second = kafka_topic(), kafka_topic(partitions=2, config={"cleanup.policy": "compact"})
    assert first != second
    topics = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics
    assert len(topics[first].partitions) == 1 and len(topics[second].partitions) == 2


@pytest.mark.kafka_topic(partitions=3)
def test_marker_sets_partitions(kafka_bootstrap, kafka_topic):
    topic = kafka_topic()
    topics = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics
    assert len(topics[topic].partitions) == 3


def test_one_broker_for_the_session(kafka_broker, kafka_bootstrap):
    assert kafka_bootstrap == kafka_broker.bootstrap_servers
"""


def test_fixtures_give_a_real_broker_and_fresh_topics(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sample=ROUND_TRIP)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=4)


def test_a_failing_test_reports_the_broker_log(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fails="""
def test_fails(kafka_topic):
    kafka_topic()
    assert False, "the application under test misbehaved"
"""
    )
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*kafkish broker log*", "*created topic test_fails-*"])


def test_broker_properties_from_ini_and_marker(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nkafka_broker_config =\n    num.partitions=2\n")
    pytester.makepyfile(
        test_configs="""
import json, pathlib
import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic


def partitions_of_a_default_topic(bootstrap, name):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name)])[name].result(10)  # partitions: the broker's num.partitions
    return len(admin.list_topics(timeout=10).topics[name].partitions)


def test_ini(kafka_bootstrap):
    assert partitions_of_a_default_topic(kafka_bootstrap, "ini") == 2


@pytest.mark.kafka_broker({"num.partitions": 5})
def test_marker(kafka_bootstrap):
    assert partitions_of_a_default_topic(kafka_bootstrap, "marker") == 5


@pytest.mark.kafka_broker({"num.partitions": 5})
def test_same_marker_same_broker(kafka_broker):
    topics = AdminClient({"bootstrap.servers": kafka_broker.bootstrap_servers}).list_topics(timeout=10).topics
    assert "marker" in topics and "ini" not in topics
"""
    )
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=3)


def test_kafka_reset_ini_drops_topics_and_groups_between_tests(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nkafka_reset = true\n")
    pytester.makepyfile(
        test_reset="""
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient


def test_first(kafka_bootstrap, kafka_topic):
    topic = kafka_topic()
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": "left-behind"})
    consumer.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
    consumer.close()


def test_second(kafka_bootstrap):
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    assert [t for t in admin.list_topics(timeout=10).topics if not t.startswith("__")] == []
    assert admin.list_consumer_groups().result(10).valid == []
"""
    )
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=2)


def test_each_xdist_worker_has_its_own_broker(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("xdist")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(
        test_workers="""
import json, os, pathlib
import pytest


@pytest.mark.parametrize("n", range(6))
def test_record(n, kafka_bootstrap, kafka_topic):
    kafka_topic()
    worker = os.environ["PYTEST_XDIST_WORKER"]
    with open(pathlib.Path(__file__).parent / f"seen-{worker}-{n}.json", "w") as f:
        json.dump([worker, kafka_bootstrap], f)
"""
    )
    result = pytester.runpytest_subprocess(*PLUGIN, "-n", "2")
    result.assert_outcomes(passed=6)
    seen = [json.loads(path.read_text()) for path in pytester.path.glob("seen-*.json")]
    by_worker: dict[str, set[str]] = {}
    for worker, bootstrap in seen:
        by_worker.setdefault(worker, set()).add(bootstrap)
    assert len(by_worker) == 2, by_worker
    assert all(len(bootstraps) == 1 for bootstraps in by_worker.values()), by_worker
    assert len(set.union(*by_worker.values())) == 2, by_worker


def test_the_readmes_example_runs(pytester: pytest.Pytester) -> None:
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```python\n# tests/test_orders.py\n(.*?)```", readme, re.S)
    assert example is not None, "README.md lost its 'Testing your application' example"
    pytester.makepyfile(test_orders=example.group(1))
    pytester.runpytest(*PLUGIN).assert_outcomes(passed=3)


def test_reset_names_a_group_whose_consumer_is_still_open() -> None:
    from confluent_kafka import Consumer

    from kafkish.testing import Broker
    from kafkish.testing._admin import create_topic

    with Broker() as broker:
        create_topic(broker.bootstrap_servers, "watched")
        consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "still-open"})
        consumer.subscribe(["watched"])
        deadline = time.monotonic() + 30
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(0.2)
        with pytest.raises(RuntimeError, match="consumer group 'still-open' still has members"):
            broker.reset()
        consumer.close()
        broker.reset()

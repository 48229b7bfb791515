"""Figures of the test kit (``python -m bench.testkit``): how soon the ``kafka_broker`` fixture is ready
(median of 20 starts), how long ``reset()`` takes (median of 20, 10 topics and 2 groups each time), and
the wall time of a 100-test sample suite with the plugin's session broker against the same suite starting
a broker per test. Each sample test produces one record to a fresh topic and reads it back.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from kafkish.testing import Broker
from kafkish.testing._admin import create_topic

ROOT = Path(__file__).resolve().parent.parent

ROUND_TRIP = """
from confluent_kafka import Consumer, Producer, TopicPartition


def round_trip(bootstrap, topic):
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, value=b"x")
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    message = consumer.poll(10)
    consumer.close()
    assert message is not None and message.value() == b"x"
"""

WITH_PLUGIN = (
    ROUND_TRIP
    + """

import pytest


@pytest.mark.parametrize("n", range(100))
def test_sample(n, kafka_bootstrap, kafka_topic):
    round_trip(kafka_bootstrap, kafka_topic())
"""
)

PER_TEST = (
    ROUND_TRIP
    + """

import pytest
from kafkish.testing import Broker
from kafkish.testing._admin import create_topic


@pytest.fixture
def own_broker():
    with Broker() as broker:
        yield broker.bootstrap_servers


@pytest.mark.parametrize("n", range(100))
def test_sample(n, own_broker):
    create_topic(own_broker, "t")
    round_trip(own_broker, "t")
"""
)


def ready_times(count: int = 20) -> list[float]:
    times = []
    for _ in range(count):
        started = time.monotonic()
        broker = Broker().start()
        times.append(time.monotonic() - started)
        broker.stop()
    return times


def reset_times(count: int = 20) -> list[float]:
    times = []
    with Broker() as broker:
        bootstrap = broker.bootstrap_servers
        for round_ in range(count):
            for i in range(10):
                create_topic(bootstrap, f"t{round_}-{i}", 1)
            for group in ("a", "b"):
                consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
                consumer.commit(offsets=[TopicPartition(f"t{round_}-0", 0, 0)], asynchronous=False)
                consumer.close()
            started = time.monotonic()
            broker.reset()
            times.append(time.monotonic() - started)
    return times


def suite_time(module: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "test_sample.py").write_text(module)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "kafkish.pytest_plugin", "-p", "no:cacheprovider",
             "--rootdir", tmp, tmp],
            cwd=tmp, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        elapsed = time.monotonic() - started
        if done.returncode != 0 or "100 passed" not in done.stdout:
            raise RuntimeError(done.stdout + done.stderr)
        return elapsed


def main() -> None:
    ready = ready_times()
    print(f"fixture ready: median {statistics.median(ready) * 1000:.0f} ms (min {min(ready) * 1000:.0f}, "
          f"max {max(ready) * 1000:.0f}) over {len(ready)} starts")  # fmt: skip
    resets = reset_times()
    print(f"reset() of 10 topics and 2 groups: median {statistics.median(resets) * 1000:.1f} ms "
          f"(max {max(resets) * 1000:.1f})")  # fmt: skip
    plugin = suite_time(WITH_PLUGIN)
    print(f"100-test suite, plugin's session broker: {plugin:.1f} s")
    per_test = suite_time(PER_TEST)
    print(f"100-test suite, a broker per test:       {per_test:.1f} s")


if __name__ == "__main__":
    main()

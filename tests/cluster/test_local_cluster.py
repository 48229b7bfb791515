"""`make cluster`'s launcher (python -m broker.local_cluster): ZooKeeper and 3 brokers, one SIGINT stops all.

Runs the launcher as a real process on free ports, reads its announcements, asks a real client for the
cluster's brokers, has a consumer group subscribe to a topic with 3 replicas (Kafka's defaults, so
``__consumer_offsets`` has 3 replicas too: no override needed), then sends SIGINT (a terminal's
Ctrl-C) and checks every child process is gone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from tests.cluster.brokers import wait_for
from tests.cluster.conftest import _require_zookeeper
from tests.harness import ROOT, free_port


def test_launcher_starts_three_brokers_and_sigint_stops_every_process(tmp_path: Path) -> None:
    _require_zookeeper()
    ports = [free_port() for _ in range(3)]
    args = [
        sys.executable, "-m", "broker.local_cluster", "--dir", str(tmp_path / "cluster"), "--host", "127.0.0.1",
        "--ports", ",".join(map(str, ports)), "--zookeeper-port", str(free_port()),
    ]  # fmt: skip
    launcher = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(launcher.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        wait_for(lambda: any("cluster ready" in line for line in lines), timeout_s=90, what="the launcher")
        pids = [int(m.group(1)) for line in lines if (m := re.search(r"\(pid (\d+),", line))]
        assert len(pids) == 4, lines  # ZooKeeper and three brokers
        bootstrap = ",".join(f"127.0.0.1:{port}" for port in ports)
        md = wait_for(
            lambda: (
                (m := AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10))
                and len(m.brokers) == 3
                and m
            ),
            what="3 brokers in Metadata",
        )
        assert sorted((b.id, b.port) for b in md.brokers.values()) == list(enumerate(ports))
        for directory in ("broker-0", "broker-1", "broker-2", "zookeeper"):
            assert (tmp_path / "cluster" / directory).is_dir()
        assert sorted(p.name for p in (tmp_path / "cluster" / "logs").iterdir()) == [
            "broker-0.log", "broker-1.log", "broker-2.log", "zookeeper.log",
        ]  # fmt: skip
        _a_subscribing_group_reads_a_replicated_topic(bootstrap)

        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(60) == 0
        reader.join(5)
        for pid in pids:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            raise AssertionError(f"process {pid} still runs after the launcher stopped:\n{''.join(lines)}")
        text = "".join(lines)
        for broker_id in range(3):
            assert f"broker {broker_id} stopped (exit code 0)" in text, text
        assert "zookeeper stopped" in text
        assert "shut down cleanly" in (tmp_path / "cluster" / "logs" / "broker-0.log").read_text()
    finally:
        if launcher.poll() is None:  # a failed check: stop the cluster as a user would
            launcher.send_signal(signal.SIGINT)
            try:
                launcher.wait(60)
            except subprocess.TimeoutExpired:
                launcher.kill()
                launcher.wait(10)


def _a_subscribing_group_reads_a_replicated_topic(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic("demo", 3, 3)], operation_timeout=30)["demo"].result(60)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(30):
        producer.produce("demo", value=b"%d" % i, partition=i % 3)
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "demo", "auto.offset.reset": "earliest"})
    consumer.subscribe(["demo"])
    seen: set[bytes] = set()
    try:

        def all_read() -> bool:
            seen.update(m.value() or b"" for m in consumer.consume(30, 0.5) if m.error() is None)
            return len(seen) == 30

        wait_for(all_read, timeout_s=60, what="the subscribed consumer to read every record")
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    offsets = admin.list_topics(timeout=10).topics["__consumer_offsets"]
    assert all(len(p.replicas) == 3 for p in offsets.partitions.values())

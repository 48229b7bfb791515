"""Replication throttles: how fast a follower catches up under a configured rate
(``python -m bench.replication_throttle``).

Two brokers on a real ZooKeeper, Kafka's default quota window (11 samples of 1 s). For each case a
topic led by broker 0 and followed by broker 1 gets ``BACKLOG`` bytes while broker 1 is stopped; broker
1 restarts under the case's throttle (its follower rate, or broker 0's leader rate) and the bench
samples the follower's log size until it has caught up: the rate over the whole catch-up (from the
follower's start, process start-up included) and over its steady middle (25% to 75% of the backlog),
against the configured one. The follower is restarted only once the leader's ISR has dropped it (an
in-sync follower is never throttled).

The quota is an average over the whole window, as Kafka's: a rate that has seen only a trickle for 11 s
(a leader answering idle follower fetches records their small responses) lets up to 11 s worth of the
rate through at once before it holds back, so the middle figure can be far above the configured rate
while the overall one stays at it; a fresh rate (nothing recorded yet) measures over one second.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewTopic

from tests.cluster.brokers import Cluster, admin, view, wait_for
from tests.harness import BrokerProcess
from tests.zookeeper import ZooKeeperServer

BACKLOG = 24_000_000
RECORD = 10_000
CASES = (  # (name, side, rate in bytes/s or None)
    ("unthrottled", "follower", None),
    ("follower 1 MB/s", "follower", 1_000_000),
    ("follower 4 MB/s", "follower", 4_000_000),
    ("leader 2 MB/s", "leader", 2_000_000),
)


def _set(broker: BrokerProcess, broker_id: int, name: str, value: str | None) -> None:
    op = AlterConfigOpType.SET if value is not None else AlterConfigOpType.DELETE
    resource = ConfigResource(ResourceType.BROKER, str(broker_id), incremental_configs=[
        ConfigEntry(name, value, incremental_operation=op)])  # fmt: skip
    client = admin(broker)
    for future in client.incremental_alter_configs([resource]).values():
        future.result(30)


def _size(broker: BrokerProcess, topic: str) -> int:
    directory = broker.log_dir / f"{topic}-0"
    return sum(e.stat().st_size for e in os.scandir(directory) if e.name.endswith(".log")) if directory.is_dir() else 0


def _produce(bootstrap: str, topic: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 5, "compression.type": "none"})
    value = os.urandom(RECORD)
    for _ in range(BACKLOG // RECORD):
        while True:
            try:
                producer.produce(topic, value)
                break
            except BufferError:
                producer.poll(0.1)
    if producer.flush(120) != 0:
        raise RuntimeError("the backlog was not acknowledged")


def _case(cluster: Cluster, topic: str, side: str, rate: int | None) -> dict[str, Any]:
    leader, follower = cluster.brokers
    configs = {f"{side}.replication.throttled.replicas": "0:1" if side == "follower" else "0:0"}
    client = admin(leader)
    client.create_topics([NewTopic(topic, 1, replica_assignment=[[0, 1]], config=configs)])[topic].result(30)
    owner, owner_id = (follower, 1) if side == "follower" else (leader, 0)
    _set(owner, owner_id, f"{side}.replication.throttled.rate", None if rate is None else str(rate))
    follower.stop()
    # an in-sync follower is never throttled: wait until the leader's ISR has let broker 1 go
    wait_for(lambda: view(leader, [topic])["topics"][topic][0][2] == [0], what=f"{topic}'s ISR without broker 1")
    _produce(leader.bootstrap, topic)
    target = _size(leader, topic)
    started = time.monotonic()
    follower.start()
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + 3 * BACKLOG / (rate or BACKLOG) + 60
    while time.monotonic() < deadline:
        samples.append((time.monotonic(), _size(follower, topic)))
        if samples[-1][1] >= target:
            break
        time.sleep(0.1)
    _set(owner, owner_id, f"{side}.replication.throttled.rate", None)
    end, done = samples[-1]
    quarter = next((t for t, size in samples if size >= target // 4), end)
    three = next((t for t, size in samples if size >= 3 * target // 4), end)
    return {
        "configured_Bps": rate,
        "caught_up": done >= target,
        "catch_up_s": round(end - started, 1),  # from the follower's start (its process start included)
        "overall_Bps": round(done / max(end - started, 1e-3)),
        "middle_Bps": round((target // 2) / (three - quarter)) if three > quarter else None,
    }


def main() -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp_dir, ZooKeeperServer(Path(tmp_dir) / "zk") as zk:
        cluster = Cluster(Path(tmp_dir), f"{zk.connect}/bench-throttle", size=2,
                          overrides={"offsets.topic.replication.factor": "1"}).start()  # fmt: skip
        try:
            for i, (name, side, rate) in enumerate(CASES):
                results[name] = _case(cluster, f"throttled-{i}", side, rate)
                print(name, results[name], file=sys.stderr, flush=True)
        finally:
            cluster.stop()
    return results


if __name__ == "__main__":
    for case, figures in main().items():
        print(f"{case:18} {figures}")

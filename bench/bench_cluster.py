"""Cluster mode: a real ZooKeeper and three broker processes (``python -m bench.bench_cluster``).

- start-up: from starting ZooKeeper and 3 brokers (in parallel) to a topic of replication factor 3
  whose every partition took an acks=all write (so its followers fetched it: the ISR is whole);
- controller failover: from SIGKILL of the controller to a survivor's Metadata naming a new controller
  and a live leader for every partition (``zookeeper.session.timeout.ms`` below);
- creating 1,000 partitions with replication factor 3, and Metadata latency on that cluster.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from protocol.messages.metadata import METADATA, MetadataRequest
from tests.harness import BrokerProcess
from tests.raw_client import RawClient
from tests.zookeeper import ZooKeeperServer

SESSION_TIMEOUT_MS = 6000


def _writable(bootstrap: str, topic: str, partitions: int) -> None:
    client = AdminClient({"bootstrap.servers": bootstrap})
    for future in client.create_topics([NewTopic(topic, partitions, 3)], operation_timeout=30).values():
        future.result(timeout=60)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for p in range(partitions):
        producer.produce(topic, b"x", partition=p)
    if producer.flush(30) != 0:
        raise RuntimeError("the writes were not acknowledged")


def _view(broker: BrokerProcess, topic: str) -> tuple[int, list[int]]:
    md = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(topic, timeout=5)
    return md.controller_id, [p.leader for p in md.topics[topic].partitions.values()]


def main() -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        started = time.monotonic()
        with ZooKeeperServer(tmp / "zk") as zk:
            connect = f"{zk.connect}/bench"
            brokers = []
            for broker_id in range(3):
                (tmp / f"b{broker_id}").mkdir()
                brokers.append(BrokerProcess(tmp / f"b{broker_id}", {
                    "zookeeper.connect": connect, "broker.id": str(broker_id),
                    "zookeeper.session.timeout.ms": str(SESSION_TIMEOUT_MS),
                }))  # fmt: skip
            try:
                with ThreadPoolExecutor(3) as pool:
                    list(pool.map(BrokerProcess.start, brokers))
                _writable(",".join(b.bootstrap for b in brokers), "ready", 3)
                results["startup_to_writable_rf3_s"] = round(time.monotonic() - started, 2)
                print(f"ZooKeeper + 3 brokers -> writable RF 3 topic: {results['startup_to_writable_rf3_s']} s")

                begun = time.monotonic()
                client = AdminClient({"bootstrap.servers": brokers[0].bootstrap})
                futures = client.create_topics([NewTopic("wide", 1000, 3)], operation_timeout=120)
                for future in futures.values():
                    future.result(timeout=180)
                results["create_1000_partitions_rf3_s"] = round(time.monotonic() - begun, 2)
                print(f"create 1,000 partitions RF 3: {results['create_1000_partitions_rf3_s']} s")

                raw = RawClient(brokers[1])
                samples = []
                for _ in range(50):
                    t = time.perf_counter()
                    raw.request(METADATA.key, 9, MetadataRequest(topics=None))
                    samples.append((time.perf_counter() - t) * 1000)
                results["metadata_all_topics_median_ms"] = round(statistics.median(samples), 2)
                print(f"Metadata (1,003 partitions) median: {results['metadata_all_topics_median_ms']} ms")

                controller, _ = _view(brokers[0], "ready")
                victim = brokers[controller]
                survivor = next(b for b in brokers if b is not victim)
                victim.kill()
                killed = time.monotonic()
                while True:
                    try:
                        now, leaders = _view(survivor, "ready")
                        if now not in (-1, controller) and all(x not in (-1, controller) for x in leaders):
                            break
                    except Exception:
                        pass
                    time.sleep(0.02)
                results["failover_s"] = round(time.monotonic() - killed, 2)
                results["session_timeout_s"] = SESSION_TIMEOUT_MS / 1000
                print(f"controller failover after SIGKILL: {results['failover_s']} s "
                      f"(zookeeper.session.timeout.ms={SESSION_TIMEOUT_MS})")  # fmt: skip
            finally:
                for broker in brokers:
                    broker.kill()
    return results


if __name__ == "__main__":
    main()
    sys.exit(0)

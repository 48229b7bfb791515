"""acks=all produce latency on 3 brokers while leadership moves (``python -m bench.loop_stalls``).

ZooKeeper and 3 broker processes; a topic of 6 partitions, replication factor 3, min.insync.replicas=2;
one confluent-kafka producer (acks=all, linger.ms=0) sends 100-byte records at 1,000 msg/s for
``--seconds`` (20). Meanwhile: a preferred-leader election while leaders are off their preferred
replica, a controlled shutdown of one broker and its restart, another preferred election once it is
back, and the creation of a 50-partition topic. Reports the ack latency (produce() to the delivery
report) p50/p99/max over the whole run, and, with ``--monitor MS`` (default 5; 0 for none), the
brokers' own view (broker/loop_monitor.py): the largest loop stalls and gc pauses they logged.
``--runs N`` repeats and prints the medians; ``--no-events`` measures the steady state alone.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from tests.cluster.brokers import Cluster, metadata, wait_for
from tests.zookeeper import ZooKeeperServer

RATE = 1000
PARTITIONS = 6
STALL = re.compile(r"(loop stall|gc pause) ([0-9.]+) ms(.*)$")


def _percentile(samples: list[float], q: float) -> float:
    return samples[min(len(samples) - 1, int(len(samples) * q))]


def _create(bootstrap: str, topic: str, partitions: int, configs: dict[str, str] | None = None) -> None:
    client = AdminClient({"bootstrap.servers": bootstrap})
    futures = client.create_topics([NewTopic(topic, partitions, 3, config=configs or {})], operation_timeout=30)
    for future in futures.values():
        future.result(timeout=60)


def _elect_preferred(bootstrap: str, topic: str) -> None:
    from confluent_kafka import ElectionType

    client = AdminClient({"bootstrap.servers": bootstrap})
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    try:
        client.elect_leaders(ElectionType.PREFERRED, partitions).result(timeout=30)
    except Exception as exc:  # ELECTION_NOT_NEEDED for partitions already on their preferred leader
        print(f"  elect_leaders: {exc}")


Plan = list[tuple[float, Callable[[], Any]]]


def _scenario(cluster: Cluster, bootstrap: str, events: list[str], begun: float) -> Plan:
    victim = cluster.brokers[2]

    def note(what: str) -> None:
        events.append(f"{time.monotonic() - begun:5.1f} s {what}")

    def shutdown() -> None:
        note("controlled shutdown of broker 2")
        victim.stop()

    def restart() -> None:
        note("restart broker 2")
        victim.start()
        wait_for(lambda: len(metadata(cluster.brokers[0]).brokers) == 3, 60, "broker 2 to come back")
        note("broker 2 back")

    def elect() -> None:
        note("preferred leader election")
        _elect_preferred(bootstrap, "lat")

    def create() -> None:
        note("create a topic of 50 partitions")
        _create(bootstrap, "wide", 50)
        note("created")

    return [(3.0, shutdown), (7.0, restart), (12.0, elect), (15.0, create)]


def run(seconds: float, monitor_ms: float, events: bool = True) -> dict[str, Any]:
    if monitor_ms > 0:
        os.environ["KAFKISH_LOOP_STALL_MS"] = str(monitor_ms)
    else:
        os.environ.pop("KAFKISH_LOOP_STALL_MS", None)
    with tempfile.TemporaryDirectory() as tmp_dir, ZooKeeperServer(Path(tmp_dir) / "zk") as zk:
        cluster = Cluster(Path(tmp_dir) / "brokers", f"{zk.connect}/stalls", 3).start()
        try:
            return _measure(cluster, seconds, events)
        finally:
            cluster.stop()


def _measure(cluster: Cluster, seconds: float, with_events: bool) -> dict[str, Any]:
    bootstrap = cluster.bootstrap
    _create(bootstrap, "lat", PARTITIONS, {"min.insync.replicas": "2"})
    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0, "enable.idempotence": False,
        "message.timeout.ms": 60000, "retries": 1000000, "retry.backoff.ms": 50,
    })  # fmt: skip
    for p in range(PARTITIONS):  # connections and metadata up before the clock starts
        producer.produce("lat", b"w", partition=p)
    producer.flush(30)
    latencies: list[float] = []
    failures: list[str] = []
    timeline: list[tuple[float, float]] = []
    start = time.perf_counter()

    def delivered(sent: float) -> Callable[[Any, Any], None]:
        def report(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(str(err))
            else:
                latencies.append(time.perf_counter() - sent)
                timeline.append((sent - start, time.perf_counter() - sent))

        return report

    events: list[str] = []
    begun = time.monotonic()
    plan = _scenario(cluster, bootstrap, events, begun) if with_events else []

    def drive() -> None:
        for at, action in plan:
            time.sleep(max(0.0, begun + at - time.monotonic()))
            action()

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    payload = b"v" * 100
    total = int(seconds * RATE)
    for i in range(total):
        due = start + i / RATE
        while True:
            wait = due - time.perf_counter()
            if wait <= 0:
                break
            producer.poll(min(wait, 0.001))
        producer.produce("lat", payload, partition=i % PARTITIONS, on_delivery=delivered(time.perf_counter()))
        producer.poll(0)
    producer.flush(60)
    driver.join(120)
    latencies.sort()
    stalls = []
    for broker in cluster.brokers:
        for line in broker.output.splitlines():
            found = STALL.search(line)
            if found:
                stalls.append((float(found.group(2)), f"broker {broker.overrides['broker.id']}: {found.group(0)}"))
    stalls.sort(reverse=True)
    logs = os.environ.get("LOOP_STALLS_LOGS")  # a directory to keep the brokers' logs in
    if logs:
        os.makedirs(logs, exist_ok=True)
        for broker in cluster.brokers:
            Path(logs, f"broker-{broker.overrides['broker.id']}.log").write_text(broker.output)
        Path(logs, "latencies.txt").write_text("".join(f"{t:.4f} {lat * 1000:.1f}\n" for t, lat in timeline))
    worst: dict[int, float] = {}
    for sent_at, latency in timeline:
        second = int(sent_at)
        worst[second] = max(worst.get(second, 0.0), latency * 1000)
    return {
        "worst_per_second_ms": [round(worst.get(s, 0.0), 1) for s in range(int(seconds) + 1)],
        "acked": len(latencies),
        "failed": len(failures),
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "max_ms": latencies[-1] * 1000,
        "events": events,
        "stalls": stalls,
    }


def _by_site(stalls: list[tuple[float, str]]) -> list[tuple[str, tuple[float, int]]]:
    """Stall time summed per blocking place: the innermost sampled frame (or what ran, unsampled)."""
    sites: dict[str, tuple[float, int]] = {}
    for ms, line in stalls:
        what, _, where = line.partition("; blocked at: ")
        if where and not where.startswith("not sampled"):
            site = " <- ".join(where.split(" <- ")[:3])
        elif "gc pause" in what:
            site = "gc " + what.split(":")[-1].split(",")[0].strip()
        else:
            site = what.split(" in ", 1)[-1]
        total, count = sites.get(site, (0.0, 0))
        sites[site] = (total + ms, count + 1)
    return sorted(sites.items(), key=lambda item: -item[1][0])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.loop_stalls", description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--monitor", type=float, default=5.0, help="loop monitor threshold in ms (0: off)")
    parser.add_argument("--no-events", action="store_true", help="no leader changes, no topic creation")
    parser.add_argument("--top", type=int, default=15, help="how many of the largest stalls to print")
    args = parser.parse_args(argv)
    results = []
    for n in range(args.runs):
        result = run(args.seconds, args.monitor, not args.no_events)
        results.append(result)
        print(f"run {n + 1}: {result['acked']} acked, {result['failed']} failed; ack latency p50 "
              f"{result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms")  # fmt: skip
        for event in result["events"]:
            print(f"  {event}")
        print(f"  worst ack latency per second of sending (ms): {result['worst_per_second_ms']}")
        stalls = result["stalls"]
        if args.monitor > 0:
            print(f"  {len(stalls)} stalls over {args.monitor} ms logged by the brokers; the largest:")
            for _, line in stalls[: args.top]:
                print(f"    {line[:400]}")
            print("  where the logged stall time went (blocking frame, total ms, count):")
            for site, (total_ms, count) in _by_site(stalls)[: args.top]:
                print(f"    {total_ms:7.1f} ms {count:4d}x {site}")
    medians = {key: statistics.median(r[key] for r in results) for key in ("p50_ms", "p99_ms", "max_ms")}
    if args.runs > 1:
        print(f"median of {args.runs} runs: p50 {medians['p50_ms']:.1f} ms, p99 {medians['p99_ms']:.1f} ms, "
              f"max {medians['max_ms']:.1f} ms")  # fmt: skip
    return {"runs": [{k: v for k, v in r.items() if k != "stalls"} for r in results], "medians": medians}


if __name__ == "__main__":
    main(sys.argv[1:])

"""Cluster mode: a real ZooKeeper and three broker processes (``python -m bench.bench_cluster``).

- start-up: from starting ZooKeeper and 3 brokers (in parallel) to a topic of replication factor 3
  whose every partition took an acks=all write (so its followers fetched it: the ISR is whole);
- controller failover: from SIGKILL of the controller to a survivor's Metadata naming a new controller
  and a live leader for every partition (``zookeeper.session.timeout.ms`` below);
- latency at 1,000 msg/s on a topic of replication factor 3 with ``min.insync.replicas=2``, acks=all and
  acks=1 in the same run: the producer's ack latency (produce call to delivery callback) and end to end
  (produce call to a consumer's receipt), p50 and p99 (issue #12's target: acks=all p99 under 20 ms);
- follower rejoin: stop a follower (SIGTERM), produce ``BENCH_REJOIN_MB`` MiB (default 1024) with acks=all
  to a topic whose every partition it replicates, restart it, and time from the restart until it is back
  in the ISR of every partition (in a survivor's Metadata); its catch-up rate is the bytes its log dir
  gained over that time;
- creating 1,000 partitions with replication factor 3, and Metadata latency on that cluster.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from protocol.messages.metadata import METADATA, MetadataRequest
from tests.harness import BrokerProcess
from tests.raw_client import RawClient
from tests.zookeeper import ZooKeeperServer

SESSION_TIMEOUT_MS = 6000
LATENCY_RATE = 1000  # messages per second
LATENCY_SECONDS = 10
REJOIN_MB = int(os.environ.get("BENCH_REJOIN_MB", "1024"))
REJOIN_VALUE = 64 * 1024


def _writable(bootstrap: str, topic: str, partitions: int) -> None:
    client = AdminClient({"bootstrap.servers": bootstrap})
    for future in client.create_topics([NewTopic(topic, partitions, 3)], operation_timeout=30).values():
        future.result(timeout=60)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for p in range(partitions):
        producer.produce(topic, b"x", partition=p)
    if producer.flush(30) != 0:
        raise RuntimeError("the writes were not acknowledged")


def _create(bootstrap: str, topic: str, partitions: int) -> None:
    client = AdminClient({"bootstrap.servers": bootstrap})
    new = NewTopic(topic, partitions, 3, config={"min.insync.replicas": "2"})
    for future in client.create_topics([new], operation_timeout=30).values():
        future.result(timeout=60)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def _latency(bootstrap: str, topic: str, acks: str) -> dict[str, float]:
    """Paced sends at ``LATENCY_RATE`` for ``LATENCY_SECONDS``; a consumer in a thread notes each receipt."""
    _create(bootstrap, topic, 1)
    count = LATENCY_RATE * LATENCY_SECONDS
    sent = [0.0] * count
    acked = [0.0] * count
    received = [0.0] * count
    done = threading.Event()

    def consume() -> None:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{topic}", "fetch.wait.max.ms": 100})
        consumer.assign([TopicPartition(topic, 0, 0)])
        seen = 0
        while seen < count and not done.is_set():
            message = consumer.poll(0.2)
            if message is None or message.error() is not None:
                continue
            now = time.perf_counter()
            if message.value() == b"warm-up":
                continue
            received[int(message.value() or b"0")] = now
            seen += 1
        consumer.close()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    producer = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 0})
    producer.produce(topic, b"warm-up", partition=0)  # the connection and metadata, before the clock starts
    producer.flush(30)

    def delivered(error: KafkaError | None, message: Message) -> None:
        if error is None:
            acked[int(message.value() or b"0")] = time.perf_counter()

    begun = time.perf_counter()
    for i in range(count):
        due = begun + i / LATENCY_RATE
        while (wait := due - time.perf_counter()) > 0:
            producer.poll(min(wait, 0.001))
        sent[i] = time.perf_counter()
        producer.produce(topic, str(i).encode(), partition=0, on_delivery=delivered)
        producer.poll(0)
    producer.flush(30)
    reader.join(30)
    done.set()
    ack_ms = [(a - s) * 1000 for s, a in zip(sent, acked, strict=True) if a]
    e2e_ms = [(r - s) * 1000 for s, r in zip(sent, received, strict=True) if r > s]
    return {
        "ack_p50_ms": _percentile(ack_ms, 0.5), "ack_p99_ms": _percentile(ack_ms, 0.99),
        "e2e_p50_ms": _percentile(e2e_ms, 0.5), "e2e_p99_ms": _percentile(e2e_ms, 0.99),
        "acked": len(ack_ms), "received": len(e2e_ms), "sent": count,
    }  # fmt: skip


def _isr(broker: BrokerProcess, topic: str) -> list[list[int]]:
    md = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(topic, timeout=5)
    return [list(p.isrs) for p in md.topics[topic].partitions.values()]


def _log_bytes(broker: BrokerProcess, topic: str) -> int:
    return sum(f.stat().st_size for f in broker.log_dir.glob(f"{topic}-*/*.log"))


def _rejoin(brokers: list[BrokerProcess], topic: str, megabytes: int) -> dict[str, float]:
    """Stop a follower, write ``megabytes`` MiB without it, restart it and time its return to every ISR."""
    partitions = 3
    _create(",".join(b.bootstrap for b in brokers), topic, partitions)
    victim, survivors = brokers[-1], brokers[:-1]
    victim_id = len(brokers) - 1  # broker ids are the list's indexes
    victim.stop()
    bootstrap = ",".join(b.bootstrap for b in survivors)
    _wait(lambda: all(victim_id not in isr for isr in _isr(survivors[0], topic)), 60)
    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "batch.size": 1048576,
        "queue.buffering.max.kbytes": 262144,
    })  # fmt: skip
    value = os.urandom(REJOIN_VALUE)
    begun = time.monotonic()
    for i in range(megabytes * 1024 * 1024 // REJOIN_VALUE):
        while True:
            try:
                producer.produce(topic, value, partition=i % partitions)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(600) != 0:
        raise RuntimeError("the writes were not acknowledged")
    produce_s = time.monotonic() - begun
    before = _log_bytes(victim, topic)
    restarted = time.monotonic()
    victim.start()
    _wait(lambda: all(victim_id in isr for isr in _isr(survivors[0], topic)), 1800)
    rejoin_s = time.monotonic() - restarted
    caught_up = _log_bytes(victim, topic) - before
    client = AdminClient({"bootstrap.servers": bootstrap})  # kept: its futures fail once it is collected
    for future in client.delete_topics([topic], operation_timeout=60).values():
        future.result(timeout=60)  # its replicas' gigabytes leave the disk
    return {
        "rejoin_mb": megabytes, "produce_s": round(produce_s, 2), "produce_mb_s": round(megabytes / produce_s, 1),
        "rejoin_s": round(rejoin_s, 2), "catch_up_mb_s": round(caught_up / 1048576 / rejoin_s, 1),
        "caught_up_mb": round(caught_up / 1048576, 1),
    }  # fmt: skip


def _wait(condition: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:
            pass  # a broker still starting, or a Metadata timeout under load
        time.sleep(0.05)
    raise RuntimeError(f"not reached in {timeout_s} s")


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

                bootstrap = ",".join(b.bootstrap for b in brokers)
                for acks, topic in (("all", "latency-all"), ("1", "latency-one")):
                    fig = _latency(bootstrap, topic, acks)
                    results[f"latency_acks_{topic.removeprefix('latency-')}"] = fig
                    print(f"{LATENCY_RATE} msg/s, RF 3, min.insync.replicas=2, acks={acks}: "
                          f"ack p50 {fig['ack_p50_ms']} ms p99 {fig['ack_p99_ms']} ms, "
                          f"end to end p50 {fig['e2e_p50_ms']} ms p99 {fig['e2e_p99_ms']} ms "
                          f"({fig['acked']}/{fig['received']}/{fig['sent']} acked/received/sent)")  # fmt: skip

                rejoin = _rejoin(brokers, "rejoin", REJOIN_MB)
                results["follower_rejoin"] = rejoin
                print(f"follower stopped, {REJOIN_MB} MiB produced with acks=all at {rejoin['produce_mb_s']} MB/s; "
                      f"restarted, back in every ISR after {rejoin['rejoin_s']} s "
                      f"(caught up {rejoin['caught_up_mb']} MiB at {rejoin['catch_up_mb_s']} MiB/s)")  # fmt: skip

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

"""Cluster SIGKILL loop: three real brokers on a real ZooKeeper, a topic of replication factor 3, and
an idempotent acks=all producer, while a random broker is killed and restarted N times; at the end every
acknowledged record must be there once, in order, and every replica byte-identical to the others.

    python -m bench.cluster_killloop --cycles 10

Each cycle: produce for a random while; SIGKILL a random broker (leader of some partitions, follower of
others, maybe the controller); keep producing while the controller moves leadership (reported for
kills of a leader: time until the controller has seen the death, after the ZooKeeper session timeout,
and every partition has a live leader again); restart the broker on its log dir and keep producing
until it is back in every partition's ISR (reported, up to ``--rejoin-timeout``; it needs the leaders'
ISR expansion to reach the controller: both ZooKeeper's state znodes and a live broker's Metadata must
say so). Afterwards a consumer reads every partition (checked as in
``bench.killloop``: lost, duplicated, reordered) and the three copies of each partition are compared on
disk below the high watermark (``kafkish.testing.replicas``).

Exit status 1 if anything was lost, duplicated or reordered, or the replicas differ. Not part of
``make test``: it takes minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from kazoo.client import KazooClient

from bench.killloop import TIMEOUT_S, TOPIC, Tally, check, produce_for, read_back
from kafkish.testing.replicas import replica_differences
from tests.cluster.brokers import Cluster
from tests.harness import BrokerProcess
from tests.zookeeper import ZooKeeperServer

View = tuple[set[int], dict[int, tuple[int, list[int]]]]


def cluster_view(cluster: Cluster, partitions: int) -> View | None:
    """The live brokers and (leader, ISR) per partition as a live broker's Metadata says, or None."""
    for broker in cluster.alive():
        try:
            md = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 0}).list_topics(TOPIC, timeout=5)
        except Exception:
            continue
        topic = md.topics.get(TOPIC)
        if topic is None or topic.error is not None:
            continue
        states = {p: (int(topic.partitions[p].leader), list(topic.partitions[p].isrs)) for p in range(partitions)}
        return set(md.brokers), states
    return None


def zk_isrs(zk: KazooClient, partitions: int) -> dict[int, list[int]]:
    """Each partition's ISR as the controller last wrote it to its state znode."""
    return {p: json.loads(zk.get(f"/brokers/topics/{TOPIC}/partitions/{p}/state")[0])["isr"] for p in range(partitions)}


def produce_until(producer: Producer, tally: Tally, args: argparse.Namespace, seq: list[int],
                  done: Callable[[], bool], timeout_s: float) -> float | None:  # fmt: skip
    """Produce in slices of 0.2 s until ``done()`` holds; its time, or None after ``timeout_s``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if done():
            return time.monotonic() - started
        produce_for(producer, tally, 0.2, args.rate, args.partitions, seq)
    return None


def replicas_identical(cluster: Cluster, partitions: int, timeout_s: float) -> list[str]:
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "cluster-killloop-hw", "log_level": 0})
    try:
        problems: list[str] = []
        for p in range(partitions):
            hw = consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=30)[1]
            dirs = [Path(b.log_dir) / f"{TOPIC}-{p}" for b in cluster.brokers]
            deadline = time.monotonic() + timeout_s
            while (found := replica_differences(dirs, hw)) and time.monotonic() < deadline:
                time.sleep(0.5)
            problems += found
        return problems
    finally:
        consumer.close()


def misplaced_acks(tally: Tally, stored: dict[tuple[int, int], bytes]) -> list[str]:
    """Acknowledgements whose offset does not hold their record, with where the record really is."""
    where = {value: key for key, value in stored.items()}
    return [f"acked {value!r} at {p}:{offset}, which holds {stored.get((p, offset))!r}; it is at {where.get(value)}"
            for p, offset, value in tally.acks if stored.get((p, offset)) != value]  # fmt: skip


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2] if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--rate", type=int, default=1000, help="records a second")
    parser.add_argument("--min-s", type=float, default=0.5, help="shortest produce time before a kill")
    parser.add_argument("--max-s", type=float, default=3.0, help="longest produce time before a kill")
    parser.add_argument("--min-insync", type=int, default=2, help="the topic's min.insync.replicas")
    parser.add_argument("--rejoin-timeout", type=float, default=30.0, help="wait this long for the ISR after a restart")
    parser.add_argument("--segment-bytes", type=int, default=1_048_576, help="above the producer's largest batch")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="work in this directory and keep it (logs, data) instead of a temporary one")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    keep = contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory(prefix="cluster-killloop-")
    with keep as tmp:
        zookeeper = ZooKeeperServer(Path(tmp))
        zookeeper.start()
        settings = {"log.segment.bytes": str(args.segment_bytes), "replica.fetch.backoff.ms": "200"}
        cluster = Cluster(Path(tmp), f"{zookeeper.connect}/killloop", overrides=settings)
        zk = KazooClient(hosts=cluster.zk_connect)
        for broker in cluster.brokers:
            broker.start_timeout_s = 120
        try:
            cluster.start()
            zk.start(30)
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap, "log_level": 0})
            topic = NewTopic(TOPIC, args.partitions, 3, config={"min.insync.replicas": str(args.min_insync)})
            admin.create_topics([topic])[TOPIC].result(60)

            def view() -> View | None:
                return cluster_view(cluster, args.partitions)

            tally = Tally()
            producer = Producer({
                "bootstrap.servers": cluster.bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
                "message.timeout.ms": 300_000, "reconnect.backoff.max.ms": 200, "log_level": 0,
            })  # fmt: skip
            seq = [0] * args.partitions
            failovers: list[float] = []
            rejoins: list[float] = []
            missed_rejoins = 0
            started = time.monotonic()
            for cycle in range(args.cycles):
                produce_for(producer, tally, rng.uniform(args.min_s, args.max_s), args.rate, args.partitions, seq)
                victim_id = rng.randrange(len(cluster.brokers))
                victim: BrokerProcess = cluster.brokers[victim_id]
                before = view()
                led = before is not None and any(leader == victim_id for leader, _ in before[1].values())
                victim.kill()

                def moved_on(vid: int = victim_id) -> bool:
                    """Its registration is gone (so it may register again) and live brokers lead every
                    partition that has a live ISR member (one whose ISR was the victim alone stays offline)."""
                    v = view()
                    if v is None or vid in v[0]:
                        return False
                    return all(lead not in (-1, vid) or set(isr) <= {vid} for lead, isr in v[1].values())

                failover = produce_until(producer, tally, args, seq, moved_on, 120)
                if failover is not None and led:
                    failovers.append(failover)
                victim.restart(clean=False)
                while victim.process is not None and victim.process.poll() is not None:  # refused to start
                    produce_for(producer, tally, 1.0, args.rate, args.partitions, seq)
                    victim.restart(clean=False)

                def back_in_isr(vid: int = victim_id) -> bool:
                    v = view()
                    in_metadata = v is not None and all(vid in isr for _, isr in v[1].values())
                    return in_metadata and all(vid in isr for isr in zk_isrs(zk, args.partitions).values())

                rejoin = produce_until(producer, tally, args, seq, back_in_isr, args.rejoin_timeout)
                if rejoin is None:
                    missed_rejoins += 1
                else:
                    rejoins.append(rejoin)
                moved = "-" if failover is None else f"{failover:.1f}s" + ("" if led else " (led none)")
                back = "-" if rejoin is None else f"{rejoin:.1f}s"
                print(f"cycle {cycle + 1}/{args.cycles}: killed broker {victim_id}; leaders moved in {moved}, "
                      f"back in the ISR in {back}; {len(tally.acked)} acked", flush=True)  # fmt: skip
            produce_for(producer, tally, 1.0, args.rate, args.partitions, seq)
            remaining = producer.flush(TIMEOUT_S)
            stored = read_back(cluster.bootstrap, args.partitions)
            result = check(tally, stored)
            for line in misplaced_acks(tally, stored)[:20]:
                print(line)
            differences = replicas_identical(cluster, args.partitions, 60)
            isrs = zk_isrs(zk, args.partitions)
            short = {p: isr for p, isr in isrs.items() if sorted(isr) != [0, 1, 2]}
            print(
                f"{args.cycles} SIGKILL cycles on 3 brokers (RF 3, min.insync.replicas {args.min_insync}) in "
                f"{time.monotonic() - started:.0f}s: produced {sum(seq)}, acked {result['acked']} "
                f"({len(tally.acked_without_offset)} without an offset), stored "
                f"{result['stored']}; lost {result['lost']}, duplicated {result['duplicated']}, reordered "
                f"{result['reordered']}; failed deliveries {dict(tally.failed) or 0}, still unfinished {remaining}; "
                f"leaders moved after a leader's kill: median {median(failovers):.1f}s, max "
                f"{max(failovers, default=float('nan')):.1f}s; back in the ISR: median {median(rejoins):.1f}s "
                f"({missed_rejoins} restart(s) not back within {args.rejoin_timeout:.0f}s); replicas "
                f"{'byte-identical' if not differences else 'DIFFER: ' + '; '.join(differences[:5])}; ISRs in "
                f"ZooKeeper at the end: {'all 3 brokers' if not short else 'SHORT ' + str(short)}"
            )
            bad = result["lost"] or result["duplicated"] or result["reordered"] or differences or short
            return 1 if bad else 0
        finally:
            zk.stop()
            cluster.stop()
            for broker in cluster.brokers:
                broker.kill()
            zookeeper.stop()


if __name__ == "__main__":
    sys.exit(main())

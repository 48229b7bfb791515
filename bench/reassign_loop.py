"""Reassignment loop: four real brokers on a real ZooKeeper, a topic of replication factor 3 and an
idempotent acks=all producer, while partitions are moved N times to random replica sets (of 2 to 4
brokers, overlapping the old set or not), some moves with the controller SIGKILLed in the middle; at
the end every acknowledged record must be there once, in order, and every replica byte-identical to the
others, with no directory left on a broker that is no longer a replica.

    python -m bench.reassign_loop --cycles 20 [--kill-every 3]

Each cycle: produce for a random while; AlterPartitionReassignments (to the controller) of one random
partition; every ``--kill-every``-th cycle one broker being added is stopped (SIGSTOP) first, so the move
is still under way when the controller is SIGKILLed right after, then resumed (SIGCONT) once another
controller took over, and the old controller restarted on its log dir; keep producing until ZooKeeper's
assignment has no adding/removing replicas left and the ISR is the target (the time is reported). Exit
status 1 on any loss, duplicate, reordering, differing replica or stray directory. Not part of
``make test``: it takes minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import signal
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from kazoo.client import KazooClient

from bench.cluster_killloop import median, produce_until
from bench.killloop import TIMEOUT_S, TOPIC, Tally, check, produce_for, read_back
from kafkish.testing.replicas import replica_differences
from protocol.messages.alter_partition_reassignments import (
    ALTER_PARTITION_REASSIGNMENTS,
    AlterPartitionReassignmentsRequest,
    ReassignablePartition,
    ReassignableTopic,
)
from tests.cluster.brokers import Cluster
from tests.raw_client import RawClient
from tests.zookeeper import ZooKeeperServer

BROKERS = 4


def assignment(zk: KazooClient) -> dict[str, dict[str, list[int]]]:
    data: dict[str, dict[str, list[int]]] = json.loads(zk.get(f"/brokers/topics/{TOPIC}")[0])
    return data


def isr(zk: KazooClient, partition: int) -> list[int]:
    return list(json.loads(zk.get(f"/brokers/topics/{TOPIC}/partitions/{partition}/state")[0])["isr"])


def done(zk: KazooClient, partition: int, target: list[int]) -> bool:
    data = assignment(zk)
    return (data["partitions"][str(partition)] == target and str(partition) not in data.get("adding_replicas", {})
            and sorted(isr(zk, partition)) == sorted(target))  # fmt: skip


def controller(zk: KazooClient) -> int:
    return int(json.loads(zk.get("/controller")[0])["brokerid"])


def alter(cluster: Cluster, broker: int, partition: int, target: list[int]) -> int:
    """AlterPartitionReassignments straight to the controller (a stopped broker stalls clients' metadata)."""
    client = RawClient(cluster.brokers[broker])
    try:
        topics = [ReassignableTopic(name=TOPIC, partitions=[ReassignablePartition(partition_index=partition,
                                                                                  replicas=target)])]  # fmt: skip
        answer = client.request(ALTER_PARTITION_REASSIGNMENTS.key, 0, AlterPartitionReassignmentsRequest(topics=topics))
        return int(answer.error_code or answer.responses[0].partitions[0].error_code)
    finally:
        client.close()


def controller_moved(zk: KazooClient, victim: int) -> bool:
    try:
        return controller(zk) != victim
    except Exception:  # no controller for a moment
        return False


def disks(cluster: Cluster, partitions: int, replicas: dict[int, list[int]], timeout_s: float) -> list[str]:
    """Differences between the copies below the HW, and directories left where no replica is."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "reassign-loop-hw", "log_level": 0})
    problems: list[str] = []
    try:
        for p in range(partitions):
            hw = consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=30)[1]
            dirs = [Path(cluster.brokers[b].log_dir) / f"{TOPIC}-{p}" for b in replicas[p]]
            strays = [Path(cluster.brokers[b].log_dir) / f"{TOPIC}-{p}" for b in range(BROKERS) if b not in replicas[p]]
            deadline = time.monotonic() + timeout_s
            while ((found := replica_differences(dirs, hw)) or any(d.exists() for d in strays)) and (
                time.monotonic() < deadline
            ):
                time.sleep(0.5)
            problems += found + [f"stray {d}" for d in strays if d.exists()]
    finally:
        consumer.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--rate", type=int, default=1000, help="records a second")
    parser.add_argument("--kill-every", type=int, default=3, help="SIGKILL the controller mid-move every Nth cycle")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="work in this directory and keep it (logs, data) instead of a temporary one")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    keep = contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory(prefix="reassign-loop-")
    with keep as tmp:
        zookeeper = ZooKeeperServer(Path(tmp))
        zookeeper.start()
        settings = {"replica.fetch.backoff.ms": "200", "auto.leader.rebalance.enable": "false"}
        cluster = Cluster(Path(tmp), f"{zookeeper.connect}/reassign", size=BROKERS, overrides=settings)
        zk = KazooClient(hosts=cluster.zk_connect)
        try:
            cluster.start()
            zk.start(30)
            from confluent_kafka.cimpl import NewTopic

            admin = AdminClient({"bootstrap.servers": cluster.bootstrap, "log_level": 0})
            topic = NewTopic(TOPIC, args.partitions, 3, config={"min.insync.replicas": "2"})
            admin.create_topics([topic])[TOPIC].result(60)
            tally = Tally()
            producer = Producer({
                "bootstrap.servers": cluster.bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
                "message.timeout.ms": 300_000, "reconnect.backoff.max.ms": 200, "log_level": 0,
            })  # fmt: skip
            seq = [0] * args.partitions
            times: list[float] = []
            unfinished = 0
            started = time.monotonic()
            for cycle in range(args.cycles):
                produce_for(producer, tally, rng.uniform(0.5, 2.0), args.rate, args.partitions, seq)
                partition = rng.randrange(args.partitions)
                target = rng.sample(range(BROKERS), rng.randint(2, BROKERS))
                before = assignment(zk)["partitions"][str(partition)]
                kill = bool(args.kill_every) and (cycle + 1) % args.kill_every == 0
                victim = controller(zk)
                adding = [b for b in target if b not in before and b != victim]
                paused = cluster.brokers[adding[0]] if kill and adding else None
                if paused is not None:  # so the move is still under way when the controller dies
                    paused.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
                code = alter(cluster, victim, partition, target)
                killed = ""
                if kill:
                    cluster.brokers[victim].kill()
                    produce_until(producer, tally, args, seq, partial(controller_moved, zk, victim), 60)
                    if paused is not None:
                        paused.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
                    cluster.brokers[victim].restart(clean=False)
                    while cluster.brokers[victim].process.poll() is not None:  # type: ignore[union-attr]
                        produce_for(producer, tally, 1.0, args.rate, args.partitions, seq)  # its id still held
                        cluster.brokers[victim].restart(clean=False)
                    killed = f", controller {victim} killed mid-move" + (f" with {adding[0]} stopped" if paused else "")
                took = produce_until(producer, tally, args, seq, partial(done, zk, partition, target), 120)
                if took is None:
                    unfinished += 1
                else:
                    times.append(took)
                print(f"cycle {cycle + 1}/{args.cycles}: {TOPIC}-{partition} {before} -> {target} "
                      f"({'started' if code == 0 else f'error {code}'}{killed}): "
                      f"{'NOT DONE' if took is None else f'done in {took:.1f}s'}; {len(tally.acked)} acked",
                      flush=True)  # fmt: skip
            produce_for(producer, tally, 1.0, args.rate, args.partitions, seq)
            remaining = producer.flush(TIMEOUT_S)
            stored = read_back(cluster.bootstrap, args.partitions)
            result = check(tally, stored)
            final = {p: assignment(zk)["partitions"][str(p)] for p in range(args.partitions)}
            problems = disks(cluster, args.partitions, final, 60)
            print(
                f"{args.cycles} reassignments on {BROKERS} brokers in {time.monotonic() - started:.0f}s: produced "
                f"{sum(seq)}, acked {result['acked']}, stored {result['stored']}; lost {result['lost']}, duplicated "
                f"{result['duplicated']}, reordered {result['reordered']}; failed deliveries "
                f"{dict(tally.failed) or 0}, still unfinished {remaining}; moves done: median {median(times):.1f}s, "
                f"max {max(times, default=float('nan')):.1f}s, {unfinished} not done in 120s; replicas "
                f"{'byte-identical, no stray directory' if not problems else 'BAD: ' + '; '.join(problems[:5])}"
            )
            bad = result["lost"] or result["duplicated"] or result["reordered"] or problems or unfinished
            return 1 if bad else 0
        finally:
            zk.stop()
            cluster.stop()
            for broker in cluster.brokers:
                broker.kill()
            zookeeper.stop()


if __name__ == "__main__":
    sys.exit(main())

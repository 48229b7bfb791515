"""SIGKILL loop: a real broker is killed N times under an idempotent acks=all producer; at the end every
acknowledged record must be there once, in the order it was produced.

    python -m bench.killloop --cycles 20

One producer (confluent-kafka, enable.idempotence) writes ``<partition>:<sequence>`` records round-robin
over the partitions, throttled to ``--rate`` records/s, for the whole run: each cycle it produces for a
random while, the broker gets SIGKILL (``tests.harness.BrokerProcess.kill``) and restarts on the same log
dir, and the producer retries what was in flight. Small segments (``--segment-bytes``) make the broker
roll, flush in the background and checkpoint all the time. Afterwards a consumer reads every partition
and the script reports:

- lost: acknowledged records not found at their acknowledged offset;
- duplicated: sequences stored more than once; reordered: sequences out of order within a partition;
- failed: records the producer gave up on (not acknowledged, so not a loss);
- the broker's start-up time after each kill (recovery included).

Exit status 1 if anything was lost, duplicated or reordered. Not part of ``make test``: it takes minutes.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from tests.harness import BrokerProcess

TOPIC = "killloop"
TIMEOUT_S = 120.0


class Tally:
    def __init__(self) -> None:
        self.acked: dict[tuple[int, int], bytes] = {}  # (partition, offset) -> value
        self.failed: Counter[str] = Counter()
        # librdkafka's idempotent producer acknowledges records "implicitly", without an offset, when a
        # request failed with an uncertain outcome (a broken connection) and the next one succeeded: the
        # first request's records were written. They must be stored, once, somewhere in their partition.
        self.acked_without_offset: list[tuple[int, bytes]] = []
        self.acks: list[tuple[int, int, bytes]] = []  # every acknowledgement with an offset, in order

    def delivered(self, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            self.failed[err.name()] += 1
        elif msg.offset() is None or msg.offset() < 0:
            self.acked_without_offset.append((msg.partition(), msg.value()))
        else:
            self.acked[(msg.partition(), msg.offset())] = msg.value()
            self.acks.append((msg.partition(), msg.offset(), msg.value()))


def produce_for(producer: Producer, tally: Tally, seconds: float, rate: int, partitions: int, seq: list[int]) -> None:
    """Produce ``rate`` records a second for ``seconds``, the next sequence of each partition in turn."""
    end = time.monotonic() + seconds
    started = time.monotonic()
    sent = 0
    while time.monotonic() < end:
        if sent > (time.monotonic() - started) * rate:
            producer.poll(0.005)
            continue
        p = sent % partitions
        try:
            producer.produce(TOPIC, value=f"{p}:{seq[p]}".encode(), partition=p, on_delivery=tally.delivered)
        except BufferError:
            producer.poll(0.05)
            continue
        seq[p] += 1
        sent += 1
        producer.poll(0)


def read_back(bootstrap: str, partitions: int) -> dict[tuple[int, int], bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "killloop-check", "enable.auto.commit": False})
    try:
        ends = {p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=30)[1] for p in range(partitions)}
        consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(partitions)])
        records: dict[tuple[int, int], bytes] = {}
        done: set[int] = {p for p, end in ends.items() if end == 0}
        deadline = time.monotonic() + TIMEOUT_S
        while len(done) < partitions and time.monotonic() < deadline:
            for msg in consumer.consume(5000, timeout=0.5):
                p, offset, value = msg.partition(), msg.offset(), msg.value()
                if msg.error() is None and p is not None and offset is not None and value is not None:
                    records[(p, offset)] = value
                    if offset + 1 >= ends[p]:
                        done.add(p)
        return records
    finally:
        consumer.close()


def check(tally: Tally, stored: dict[tuple[int, int], bytes]) -> dict[str, int]:
    lost = sum(1 for key, value in tally.acked.items() if stored.get(key) != value)
    where = {(p, value) for (p, _), value in stored.items()}
    lost += sum(1 for key in tally.acked_without_offset if key not in where)
    counts = Counter(stored.values())
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    reordered = 0
    last: dict[int, int] = {}
    for (p, _offset), value in sorted(stored.items()):
        seq = int(value.split(b":")[1])
        if seq <= last.get(p, -1):
            reordered += 1
        last[p] = max(seq, last.get(p, -1))
    acked = len(tally.acked) + len(tally.acked_without_offset)
    return {"acked": acked, "stored": len(stored), "lost": lost, "duplicated": duplicated,
            "reordered": reordered}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--rate", type=int, default=3000, help="records a second")
    parser.add_argument("--min-s", type=float, default=0.5, help="shortest produce time before a kill")
    parser.add_argument("--max-s", type=float, default=3.0, help="longest produce time before a kill")
    parser.add_argument("--segment-bytes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="killloop-") as tmp:
        broker = BrokerProcess(Path(tmp), {"log.segment.bytes": str(args.segment_bytes)}, start_timeout_s=120)
        broker.start()
        try:
            admin = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 0})
            admin.create_topics([NewTopic(TOPIC, num_partitions=args.partitions, replication_factor=1)])[TOPIC].result(
                30
            )
            tally = Tally()
            producer = Producer({
                "bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
                "message.timeout.ms": 120_000, "reconnect.backoff.max.ms": 200,
                "log_level": 0,  # not the connection errors of every kill
            })  # fmt: skip
            seq = [0] * args.partitions
            starts: list[float] = []
            started = time.monotonic()
            for cycle in range(args.cycles):
                produce_for(producer, tally, rng.uniform(args.min_s, args.max_s), args.rate, args.partitions, seq)
                t0 = time.monotonic()
                broker.restart(clean=False)  # SIGKILL, then a new process on the same port and log dir
                starts.append(time.monotonic() - t0)
                print(
                    f"cycle {cycle + 1}/{args.cycles}: {len(tally.acked)} acked, restart {starts[-1]:.2f}s", flush=True
                )
            produce_for(producer, tally, 1.0, args.rate, args.partitions, seq)
            remaining = producer.flush(TIMEOUT_S)
            result = check(tally, read_back(broker.bootstrap, args.partitions))
            result["produced"] = sum(seq)
            result["unfinished"] = remaining
            print(
                f"{args.cycles} SIGKILL cycles in {time.monotonic() - started:.0f}s: produced {sum(seq)}, "
                f"acked {result['acked']}, stored {result['stored']}; lost {result['lost']}, "
                f"duplicated {result['duplicated']}, reordered {result['reordered']}; "
                f"failed deliveries {dict(tally.failed) or 0}, still unfinished {remaining}; "
                f"restart after kill: median {sorted(starts)[len(starts) // 2]:.2f}s, max {max(starts):.2f}s"
            )
            warnings = [line for line in broker.output_path.read_text().splitlines() if "WARNING" in line]
            print(f"broker WARNING lines over the run: {len(warnings)}")
            for line in warnings[-5:]:
                print("  broker:", line)
            return 1 if result["lost"] or result["duplicated"] or result["reordered"] else 0
        finally:
            broker.kill()


if __name__ == "__main__":
    sys.exit(main())

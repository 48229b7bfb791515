"""``kafkish producer-perf-test``: kafka-producer-perf-test.sh on confluent-kafka's producer.

Sends ``--num-records`` records of ``--record-size`` random upper-case letters (one payload, as Kafka's
tool) at up to ``--throughput`` records/s (-1: unthrottled), measuring each record's latency from send
to acknowledgement. Prints Kafka's lines: every 5 s ``N records sent, R records/sec (M MB/sec), A ms avg
latency, X ms max latency.``, and at the end the totals with the 50th, 95th, 99th and 99.9th percentiles.
"""

from __future__ import annotations

import argparse
import random
import string
import time
from typing import Any

from kafkish.cli._common import client_config, fail, key_values, out, read_properties

WINDOW_S = 5.0


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("producer-perf-test", help="producer throughput and latency")
    p.add_argument("--topic", required=True)
    p.add_argument("--num-records", type=int, required=True)
    p.add_argument("--record-size", type=int, required=True)
    p.add_argument("--throughput", type=float, required=True, help="records/s; -1 for no limit")
    p.add_argument("--producer-props", nargs="+", default=[], metavar="KEY=VALUE")
    p.add_argument("--producer.config", dest="producer_config", metavar="FILE")
    p.set_defaults(run=run, bootstrap_server=None)


class Stats:
    def __init__(self, record_size: int) -> None:
        self.record_size = record_size
        self.started = self.window_started = time.monotonic()
        self.latencies: list[float] = []
        self.window: list[float] = []
        self.errors: list[str] = []

    def record(self, latency_ms: float) -> None:
        self.latencies.append(latency_ms)
        self.window.append(latency_ms)
        now = time.monotonic()
        if now - self.window_started >= WINDOW_S:
            self._line(self.window, now - self.window_started, "%.1f")
            self.window, self.window_started = [], now

    def _line(self, latencies: list[float], elapsed: float, precision: str) -> str:
        count = len(latencies)
        rate = count / elapsed if elapsed > 0 else 0.0
        mb = rate * self.record_size / (1024 * 1024)
        avg = sum(latencies) / count if count else 0.0
        worst = max(latencies, default=0.0)
        line = (
            f"{count} records sent, {rate:.1f} records/sec ({mb:.2f} MB/sec), {precision % avg} ms avg latency, "
            f"{precision % worst} ms max latency"
        )
        if precision == "%.1f":
            out(line + ".")
        return line

    def total(self) -> None:
        elapsed = time.monotonic() - self.started
        line = self._line(self.latencies, elapsed, "%.2f")
        ordered = sorted(int(latency) for latency in self.latencies)

        def pct(p: float) -> int:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0

        out(f"{line}, {pct(0.5)} ms 50th, {pct(0.95)} ms 95th, {pct(0.99)} ms 99th, {pct(0.999)} ms 99.9th.")


def run(args: argparse.Namespace) -> int:
    from confluent_kafka import Producer

    props = {**read_properties(args.producer_config), **key_values(args.producer_props, "--producer-props")}
    if "bootstrap.servers" not in props:
        fail("bootstrap.servers must be given in --producer-props or --producer.config")
    args.bootstrap_server = props.pop("bootstrap.servers")
    producer = Producer(client_config(args, props))
    payload = "".join(random.choice(string.ascii_uppercase) for _ in range(args.record_size)).encode()
    stats = Stats(args.record_size)

    def delivered(error: Any, message: Any) -> None:
        if error is not None:
            stats.errors.append(error.str())
        else:
            stats.record(message.latency() * 1000)  # librdkafka's own send-to-acknowledgement time

    interval = 1.0 / args.throughput if args.throughput > 0 else 0.0
    for i in range(args.num_records):
        while True:
            try:
                producer.produce(args.topic, payload, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
        if interval:  # wait for the next send time, serving acknowledgements meanwhile
            due = stats.started + (i + 1) * interval
            while (pause := due - time.monotonic()) > 0:
                producer.poll(pause)
    producer.flush(300)
    stats.total()
    for error in stats.errors[:10]:
        out(f"Error: {error}")
    return 1 if stats.errors else 0

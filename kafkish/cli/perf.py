"""``kafkish producer-perf-test`` and ``kafkish consumer-perf-test``: Kafka's perf tools on
confluent-kafka.

producer-perf-test:
Sends ``--num-records`` records of ``--record-size`` random upper-case letters (one payload, as Kafka's
tool) at up to ``--throughput`` records/s (-1: unthrottled), measuring each record's latency from send
to acknowledgement. Prints Kafka's lines: every 5 s ``N records sent, R records/sec (M MB/sec), A ms avg
latency, X ms max latency.``, and at the end the totals with the 50th, 95th, 99th and 99.9th percentiles.

consumer-perf-test: reads ``--messages`` records in a fresh group (or ``--group``) and prints Kafka's CSV
header and line: start and end time, MB and records read and their rates, the time until the first
assignment (rebalance.time.ms) and the rates over the rest (fetch.*). Gives up after ``--timeout`` ms
without a record, as Kafka's tool.
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

    c: argparse.ArgumentParser = commands.add_parser("consumer-perf-test", help="consumer throughput")
    c.add_argument("--bootstrap-server", required=True)
    c.add_argument("--topic", required=True)
    c.add_argument("--messages", type=int, required=True)
    c.add_argument("--group", default=None)
    c.add_argument("--timeout", type=int, default=10000, help="ms without a record before giving up")
    c.add_argument("--from-latest", action="store_true")
    c.add_argument("--hide-header", action="store_true")
    c.add_argument("--consumer.config", dest="consumer_config", metavar="FILE")
    c.set_defaults(run=consume)


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


def _stamp(at: float) -> str:
    """Kafka's default --date-format, ``yyyy-MM-dd HH:mm:ss:SSS``."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) + f":{int(at * 1000) % 1000:03d}"


def consume(args: argparse.Namespace) -> int:
    from confluent_kafka import Consumer

    group = args.group or f"perf-consumer-{random.randint(0, 99999)}"
    config = {
        "group.id": group,
        "auto.offset.reset": "latest" if args.from_latest else "earliest",
        **read_properties(args.consumer_config),
    }
    consumer = Consumer(client_config(args, config))
    start_wall, start = time.time(), time.monotonic()
    assigned: list[float] = []
    consumer.subscribe([args.topic], on_assign=lambda c, partitions: assigned.append(time.monotonic()))
    count = size = 0
    last_record = time.monotonic()
    while count < args.messages and (time.monotonic() - last_record) * 1000 < args.timeout:
        for message in consumer.consume(min(10000, args.messages - count), timeout=0.1):
            if message.error() is not None:
                continue
            count += 1
            size += len(message.key() or b"") + len(message.value() or b"")
            last_record = time.monotonic()
    end = time.monotonic()
    consumer.close()
    if count < args.messages:
        out(f"WARNING: Exiting before consuming the expected number of messages: timeout ({args.timeout} ms) exceeded.")
    elapsed = max(end - start, 1e-9)
    rebalance = (assigned[0] - start) if assigned else 0.0
    fetching = max(elapsed - rebalance, 1e-9)
    mb = size / (1024 * 1024)
    if not args.hide_header:
        out(
            "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
            "fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
        )
    out(
        f"{_stamp(start_wall)}, {_stamp(start_wall + elapsed)}, {mb:.4f}, {mb / elapsed:.4f}, {count}, "
        f"{count / elapsed:.4f}, {int(rebalance * 1000)}, {int(fetching * 1000)}, {mb / fetching:.4f}, "
        f"{count / fetching:.4f}"
    )
    return 0

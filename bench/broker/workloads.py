"""The workloads, each against one running broker (its bootstrap address), each naming its client.

Every workload returns ``{metric: value}``; units are in the metric name (``_s``, ``_ms``, ``_mb_s``:
10^6 bytes of record values per second, ``_rec_s``: records per second, ``_mib``). A workload that cannot
complete raises ``WorkloadError`` with what went wrong; the suite records it and goes on.

Client: confluent-kafka (librdkafka) everywhere, kcat for one more 1 KiB consume, raw sockets for the
idle connections. The clients run in the bench process (kcat in its own), the broker in its own; on a
2-core machine they share the CPUs, as they would on a developer's laptop. Producers hand records over
with ``produce_batch``; the Python consumer still builds an object per record, so its rows are partly
the client's: compare with the kcat row.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import struct
import subprocess
import time
from typing import Any

from confluent_kafka import TopicPartition

from bench.broker.clients import (
    WorkloadError,
    admin,
    consumer,
    create_topic,
    produce_n,
    producer,
    raise_on_error,
)

Metrics = dict[str, float]


def first_produce(bootstrap: str, launched: float) -> Metrics:
    """Process launch to the first acknowledged produce (acks=all): CreateTopics, Metadata, Produce."""
    create_topic(bootstrap, "bench-start")
    prod = producer(bootstrap, acks="all", linger_ms=0)
    produce_n(prod, "bench-start", b"x" * 100, 1, timeout_s=30)
    return {"start_to_first_produce_s": time.monotonic() - launched}


def produce(bootstrap: str, topic: str, size: int, acks: str, n: int, **extra: Any) -> Metrics:
    """Produce ``n`` records of ``size`` bytes to a 1-partition topic: linger.ms=5, batch.size=1 MiB.
    ``extra``: more librdkafka settings (a secured listener's)."""
    create_topic(bootstrap, topic, extra=extra)
    prod = producer(bootstrap, acks=acks, **extra)
    value = b"x" * size
    started = time.perf_counter()
    produce_n(prod, topic, value, n, timeout_s=120)
    elapsed = time.perf_counter() - started
    return {"rec_s": n / elapsed, "mb_s": n * size / elapsed / 1e6}


def first_consume(bootstrap: str, topic: str = "bench-start") -> Metrics:
    """A fresh broker's first consumer (group.id set, partitions assigned): assign -> first record.

    librdkafka looks up the group coordinator even with assign(), so this includes whatever the broker
    does on the first FindCoordinator (Kafka creates ``__consumer_offsets`` then)."""
    cons = consumer(bootstrap)
    try:
        started = time.perf_counter()
        cons.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 30
        while True:
            msg = cons.poll(0.5)
            if msg is not None:
                raise_on_error(msg)
                return {"first_record_s": time.perf_counter() - started}
            if time.monotonic() > deadline:
                raise WorkloadError(f"the first consumer got no record from {topic} in 30s")
    finally:
        cons.close()


def consume(bootstrap: str, topic: str, size: int, n: int, timeout_s: float = 120.0, **extra: Any) -> Metrics:
    """Read ``n`` records of ``size`` bytes from offset 0 of partition 0 (assign, no group), Fetch only.

    The loop does as little Python per record as it can (an error check), so the client's cost is
    mostly librdkafka's; the value sizes are checked on the last record only.

    ``fetch.queue.backoff.ms=1``: librdkafka's default (1000 ms) pauses fetching for a whole second
    whenever its local queue is over ``queued.min.messages`` / ``queued.max.messages.kbytes``, which a
    Python loop reading a fast broker hits all the time; the figures then measured that pause (runs
    varied 4x), not the broker. Same setting for both brokers."""
    cons = consumer(bootstrap, **{"fetch.queue.backoff.ms": 1, **extra})
    try:
        started = time.perf_counter()
        cons.assign([TopicPartition(topic, 0, 0)])
        got = 0
        last: Any = None
        deadline = time.monotonic() + timeout_s
        while got < n:
            if time.monotonic() > deadline:
                raise WorkloadError(f"consumed {got} of {n} records from {topic} in {timeout_s}s")
            batch = cons.consume(min(10_000, n - got), 1.0)  # returns once that many are in
            if not batch:
                continue
            for msg in [m for m in batch if m.error() is not None][:1]:
                raise_on_error(msg)
            got += len(batch)
            last = batch[-1]
        elapsed = time.perf_counter() - started
    finally:
        cons.close()
    if got != n or last is None or len(last.value()) != size or last.offset() != n - 1:
        raise WorkloadError(f"consumed {got} records from {topic}, expected {n} of {size} bytes ending at {n - 1}")
    return {"rec_s": n / elapsed, "mb_s": n * size / elapsed / 1e6}


KCAT_SETTINGS = (
    *("-X", "queued.max.messages.kbytes=1048576", "-X", "queued.min.messages=10000000"),
    *("-X", "max.partition.fetch.bytes=2097152"),
)


def consume_kcat(bootstrap: str, topic: str, size: int, n: int, timeout_s: float = 120.0) -> Metrics:
    """Read ``n`` records of ``size`` bytes from offset 0 of partition 0 with kcat: librdkafka in C, no
    Python per record, so the figure is the broker's (and the kernel's), not a Python loop's.

    The time is the wall time of ``kcat -c n`` less that of ``kcat -c 1`` (process start, metadata, the
    first fetch, shutdown), one of each per run. kcat's librdkafka (Debian's 2.0) predates
    ``fetch.queue.backoff.ms``; a local queue large enough for the whole topic (``queued.*``) keeps it
    from pausing instead. ``max.partition.fetch.bytes`` is 2 MiB, room for two of the producer's 1 MiB
    batches per fetch (the default, 1 MiB, fits one: a round trip per MiB). Same settings for both
    brokers."""
    overhead = kcat_read(bootstrap, topic, 1, timeout_s)
    elapsed = kcat_read(bootstrap, topic, n, timeout_s) - overhead
    if elapsed <= overhead * 0.1:
        raise WorkloadError(f"{n} records are too few to time kcat: its start-up and shutdown took most of the run")
    return {"rec_s": n / elapsed, "mb_s": n * size / elapsed / 1e6}


def kcat_read(bootstrap: str, topic: str, count: int, timeout_s: float) -> float:
    """Wall time of ``kcat -C -c count`` from offset 0 of partition 0, records discarded. kcat exits 0
    only once it has ``count`` records, so a broker that serves fewer fails by the timeout."""
    if shutil.which("kcat") is None:
        raise WorkloadError("kcat is not installed (make system-deps, or apt-get install kcat)")
    command = ["kcat", "-b", bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-c", str(count),
               "-f", "", *KCAT_SETTINGS]  # fmt: skip
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise WorkloadError(f"kcat did not read {count} records from {topic} in {timeout_s}s") from None
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["(no output)"]
        first = lines[0].split("]: ")[-1]  # librdkafka's first complaint, without its thread prefix
        said = lines[-1] if first == lines[-1] else f"{first} ... {lines[-1]}"
        raise WorkloadError(f"kcat exited {done.returncode} reading {topic}: {said}")
    return elapsed


def latency(bootstrap: str, rate: int, seconds: float, warmup: int = 200) -> Metrics:
    """End-to-end latency at a fixed rate: produce (acks=all, linger.ms=0) to consume, one process.

    Each value carries ``perf_counter_ns()`` taken just before ``produce()``; the consumer subtracts it
    from the clock when ``poll()`` hands the record over. The first ``warmup`` records are not counted.
    """
    topic = "bench-latency"
    create_topic(bootstrap, topic)
    prod = producer(bootstrap, acks="all", linger_ms=0)
    cons = consumer(bootstrap, **{"fetch.wait.max.ms": 500, "fetch.min.bytes": 1})
    cons.assign([TopicPartition(topic, 0, 0)])
    pad = b"x" * 92
    total = warmup + int(rate * seconds)
    samples: list[int] = []
    try:
        deadline = time.monotonic() + 5  # let the consumer connect and issue its first Fetch
        while time.monotonic() < deadline and not cons.assignment():
            cons.poll(0.05)
        cons.poll(0.2)
        start = time.perf_counter()
        sent = received = 0
        end_by = start + seconds + 30
        while received < total:
            now = time.perf_counter()
            if now > end_by:
                raise WorkloadError(f"latency: received {received} of {total} records in time")
            due = start + sent / rate
            if sent < total and now >= due:
                prod.produce(topic, struct.pack(">q", time.perf_counter_ns()) + pad)
                prod.poll(0)
                sent += 1
                continue
            wait = max(0.0, min(due - now, 0.05)) if sent < total else 0.05
            msg = cons.poll(wait)
            if msg is None:
                prod.poll(0)
                continue
            got_at = time.perf_counter_ns()
            raise_on_error(msg)
            if received >= warmup:
                samples.append(got_at - struct.unpack_from(">q", msg.value())[0])
            received += 1
        if prod.flush(10):
            raise WorkloadError("latency: records left unacknowledged")
    finally:
        cons.close()
    samples.sort()
    return {
        "p50_ms": samples[len(samples) // 2] / 1e6,
        "p99_ms": samples[int(len(samples) * 0.99)] / 1e6,
        "max_ms": samples[-1] / 1e6,
    }


def many_partitions(bootstrap: str, partitions: int, n: int) -> Metrics:
    """Create a topic of ``partitions`` partitions, time Metadata for it, produce ``n`` 100-byte records
    round-robin over all of them (acks=1, linger.ms=5, batch.size=1 MiB)."""
    topic = f"bench-{partitions}p"
    started = time.perf_counter()
    create_topic(bootstrap, topic, partitions, timeout_s=60)
    created = time.perf_counter() - started
    client = admin(bootstrap)
    timings = []
    for _ in range(5):
        t0 = time.perf_counter()
        md = client.list_topics(topic, timeout=30)
        timings.append(time.perf_counter() - t0)
        if len(md.topics[topic].partitions) != partitions:
            raise WorkloadError(f"metadata shows {len(md.topics[topic].partitions)} partitions of {partitions}")
    prod = producer(bootstrap, acks="1")
    t0 = time.perf_counter()
    produce_n(prod, topic, b"x" * 100, n, partitions, timeout_s=120)
    elapsed = time.perf_counter() - t0
    return {"create_s": created, "metadata_ms": statistics.median(timings) * 1e3, "rec_s": n / elapsed}


def api_versions_request(correlation_id: int) -> bytes:
    """An ApiVersions v0 request (key 18), header v1 with client id "bench": the first thing clients send."""
    client_id = b"bench"
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    return struct.pack(">i", len(body)) + body


def open_idle_connections(bootstrap: str, count: int, timeout_s: float = 30.0) -> list[socket.socket]:
    """``count`` sockets that each completed an ApiVersions round trip, then stay silent."""
    host, port = bootstrap.rsplit(":", 1)
    socks: list[socket.socket] = []
    try:
        for i in range(count):
            s = socket.create_connection((host, int(port)), timeout=timeout_s)
            socks.append(s)
            s.sendall(api_versions_request(i))
        for i, s in enumerate(socks):
            (size,) = struct.unpack(">i", _recv_exactly(s, 4))
            (correlation,) = struct.unpack(">i", _recv_exactly(s, size)[:4])
            if correlation != i:
                raise WorkloadError(f"ApiVersions on idle connection {i} answered correlation id {correlation}")
    except OSError as exc:
        for s in socks:
            s.close()
        raise WorkloadError(f"opening idle connection {len(socks)} of {count}: {exc}") from None
    return socks


def _recv_exactly(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise WorkloadError("the broker closed an idle connection during ApiVersions")
        buf += chunk
    return bytes(buf)


def with_idle_connections(bootstrap: str, count: int, n: int, pid: int, rss: Any) -> Metrics:
    """Hold ``count`` idle connections open while producing ``n`` 100-byte records (acks=1)."""
    socks = open_idle_connections(bootstrap, count)
    try:
        held_rss = rss(pid)[0] / 1024
        result = produce(bootstrap, f"bench-idle{count}", 100, "1", n)
        alive = sum(1 for s in socks if _still_open(s))
        if alive != count:
            raise WorkloadError(f"{count - alive} of {count} idle connections were closed by the broker")
    finally:
        for s in socks:
            s.close()
    return {"rec_s": result["rec_s"], "rss_mib": held_rss}


def _still_open(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1) != b""  # data on an idle connection is odd but not a close
    except BlockingIOError:
        return True
    except OSError:
        return False

"""The side-by-side suite: rounds of every workload, kafkish and Tansu alternating, a fresh broker each.

One round against one broker: launch it, time launch -> first acknowledged produce, the first
consumer's first record, idle RSS, produce
(100 B and 1 KiB, acks=1 and acks=all), consume what the acks=1 runs wrote (confluent-kafka, then kcat for
1 KiB), RSS under load, end-to-end
latency, 1,000 partitions, idle connections; then stop it. Rounds alternate the order of the brokers
(kafkish first, then Tansu first, ...) so neither always runs on a cold or a warm machine. The loopback
ceiling is measured once per round as well.

``run(scale, brokers)`` returns ``{"runs": {broker: {workload: [metrics or {"error": ...}, ...]}}}``;
``bench.broker.report`` turns it into medians, ratios and the table.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import Any

from bench.broker import workloads
from bench.broker.clients import WorkloadError
from bench.broker.loopback import ceiling_mb_s
from bench.broker.servers import Kafkish, Server, ServerError, Tansu, rss_kib

Outcome = dict[str, Any]  # metrics, or {"error": "..."}
Profiler = Callable[[int, str], Any]  # (pid, label) -> a context manager around a workload


@dataclass(frozen=True)
class Scale:
    """How much of everything. ``FULL`` keeps ``make bench`` well under 10 minutes on 2 cores."""

    runs: int = 5
    records_100: int = 1_000_000
    records_1k: int = 400_000
    latency_rate: int = 1000
    latency_s: float = 4.0
    partitions: int = 1000
    partition_records: int = 1_000_000
    idle_connections: int = 500
    idle_records: int = 1_000_000
    loopback_bytes: int = 2 << 30
    workloads: tuple[str, ...] = ()  # empty: all; else names, e.g. ("produce_100b_acks1",)


FULL = Scale()
SMOKE = Scale(runs=1, records_100=5_000, records_1k=2_000, latency_s=0.5, partitions=20, partition_records=2_000,
              idle_connections=10, idle_records=2_000, loopback_bytes=16 << 20)  # fmt: skip

SERVERS: dict[str, type[Server]] = {"kafkish": Kafkish, "tansu": Tansu}


def run(
    scale: Scale, brokers: list[str], profiler: Profiler | None = None, log: Callable[[str], None] = print
) -> Outcome:
    runs: dict[str, dict[str, list[Outcome]]] = {name: {} for name in brokers}
    ceiling: list[float] = []
    started = time.time()
    for round_no in range(scale.runs):
        order = brokers if round_no % 2 == 0 else list(reversed(brokers))
        for name in order:
            log(f"round {round_no + 1}/{scale.runs}: {name}")
            profile = profiler if (profiler is not None and name == "kafkish" and round_no == 0) else None
            for workload, outcome in one_round(SERVERS[name](), scale, profile).items():
                runs[name].setdefault(workload, []).append(outcome)
                if "error" in outcome:
                    log(f"  {workload}: FAILED: {outcome['error']}")
        if _wanted(scale, "loopback"):
            ceiling.append(ceiling_mb_s(scale.loopback_bytes))
    return {"scale": asdict(scale), "started": started, "elapsed_s": time.time() - started,
            "runs": runs, "loopback_mb_s": ceiling}  # fmt: skip


def _wanted(scale: Scale, workload: str) -> bool:
    return not scale.workloads or workload in scale.workloads


def one_round(server: Server, scale: Scale, profiler: Profiler | None = None) -> dict[str, Outcome]:
    """Every workload against one fresh broker process. A failing workload is recorded, not raised."""
    out: dict[str, Outcome] = {}

    def attempt(workload: str, fn: Callable[[], dict[str, float]]) -> None:
        if not _wanted(scale, workload):
            return
        if not server.alive():
            out[workload] = {"error": f"{server.name} is not running:\n{server.output_tail(500)}"}
            return
        try:
            ctx = profiler(server.pid, workload) if profiler is not None else nullcontext()
            with ctx:
                out[workload] = fn()
        except (WorkloadError, ServerError) as exc:
            out[workload] = {"error": str(exc)}
        except Exception as exc:  # a bench bug or a client surprise: keep going, say what it was
            out[workload] = {"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"}

    try:
        launched = server.start()
    except ServerError as exc:
        return {"start": {"error": str(exc)}}
    try:
        attempt("start", lambda: workloads.first_produce(server.bootstrap, launched))
        attempt("first_consume", lambda: workloads.first_consume(server.bootstrap))
        time.sleep(0.5)  # let start-up garbage settle before the idle reading
        attempt("rss_idle", lambda: {"rss_mib": rss_kib(server.pid)[0] / 1024})
        for size, n in ((100, scale.records_100), (1024, scale.records_1k)):
            label = "100b" if size == 100 else "1kib"
            for acks in ("1", "all"):
                topic = f"bench-{label}-acks{acks}"
                attempt(f"produce_{label}_acks{acks}", _bind(workloads.produce, server.bootstrap, topic, size, acks, n))
        for size, n in ((100, scale.records_100), (1024, scale.records_1k)):
            label = "100b" if size == 100 else "1kib"
            attempt(f"consume_{label}", _bind(workloads.consume, server.bootstrap, f"bench-{label}-acks1", size, n))
        attempt("consume_1kib_kcat", _bind(workloads.consume_kcat, server.bootstrap, "bench-1kib-acks1", 1024,
                                           scale.records_1k))  # fmt: skip
        attempt("rss_load", lambda: {"rss_peak_mib": rss_kib(server.pid)[1] / 1024})
        attempt("latency", lambda: workloads.latency(server.bootstrap, scale.latency_rate, scale.latency_s))
        attempt("partitions", _bind(workloads.many_partitions, server.bootstrap, scale.partitions,
                                    scale.partition_records))  # fmt: skip
        attempt("idle_connections", _bind(workloads.with_idle_connections, server.bootstrap, scale.idle_connections,
                                          scale.idle_records, server.pid, rss_kib))  # fmt: skip
    finally:
        server.stop()
    return out


def _bind(fn: Callable[..., dict[str, float]], *args: Any) -> Callable[[], dict[str, float]]:
    return lambda: fn(*args)

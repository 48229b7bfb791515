"""Medians, ratios and the printed table of a suite run (see ``bench.broker.suite.run``).

The ratio is always kafkish / Tansu; the ``better`` column says which way is good for that row
(``higher`` for throughput, ``lower`` for times, latency and memory). A workload that failed in any run
shows ``FAIL`` and its first error line; the full errors are in the JSON.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

THROUGHPUT = "higher"
COST = "lower"


@dataclass(frozen=True)
class Row:
    workload: str
    metric: str
    label: str
    better: str
    vs_ceiling: bool = False  # MB/s rows also get a percentage of the loopback ceiling


ROWS: tuple[Row, ...] = (
    Row("start", "start_to_first_produce_s", "start -> first acked produce (s)", COST),
    Row("first_consume", "first_record_s", "first consumer: assign -> first record (s)", COST),
    Row("rss_idle", "rss_mib", "idle RSS (MiB)", COST),
    *(
        Row(f"produce_{size}_acks{acks}", metric, f"produce {size} acks={acks} ({unit})", THROUGHPUT, metric == "mb_s")
        for size in ("100b", "1kib")
        for acks in ("1", "all")
        for metric, unit in (("mb_s", "MB/s"), ("rec_s", "rec/s"))
    ),
    *(
        Row(f"consume_{size}", metric, f"consume {size} from start ({unit})", THROUGHPUT, metric == "mb_s")
        for size in ("100b", "1kib")
        for metric, unit in (("mb_s", "MB/s"), ("rec_s", "rec/s"))
    ),
    *(
        Row("consume_1kib_kcat", metric, f"consume 1kib from start, client kcat ({unit})", THROUGHPUT, metric == "mb_s")
        for metric, unit in (("mb_s", "MB/s"), ("rec_s", "rec/s"))
    ),
    Row("rss_load", "rss_peak_mib", "peak RSS after produce+consume (MiB)", COST),
    Row("latency", "p50_ms", "e2e latency p50 @1k msg/s (ms)", COST),
    Row("latency", "p99_ms", "e2e latency p99 @1k msg/s (ms)", COST),
    Row("partitions", "create_s", "1,000 partitions: create (s)", COST),
    Row("partitions", "metadata_ms", "1,000 partitions: metadata (ms)", COST),
    Row("partitions", "rec_s", "1,000 partitions: produce 100b (rec/s)", THROUGHPUT),
    Row("idle_connections", "rss_mib", "500 idle connections: RSS (MiB)", COST),
    Row("idle_connections", "rec_s", "500 idle connections: produce 100b (rec/s)", THROUGHPUT),
)


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Medians per broker and workload metric, failures kept as their first error."""
    medians: dict[str, dict[str, Any]] = {}
    for broker, by_workload in result["runs"].items():
        for workload, outcomes in by_workload.items():
            errors = [o["error"] for o in outcomes if "error" in o]
            cell: dict[str, Any] = {}
            if errors:
                cell["error"] = errors[0]
                cell["failed_runs"] = len(errors)
            ok = [o for o in outcomes if "error" not in o]
            for metric in ok[0] if ok else ():
                cell[metric] = statistics.median(o[metric] for o in ok)
                cell[f"{metric}_runs"] = [o[metric] for o in ok]
            medians.setdefault(broker, {})[workload] = cell
    ceiling = result.get("loopback_mb_s") or []
    return {"medians": medians, "loopback_mb_s": statistics.median(ceiling) if ceiling else None}


def _fmt(value: float) -> str:
    if value >= 10_000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _cell(medians: dict[str, Any], broker: str, row: Row) -> tuple[str, float | None]:
    cell = medians.get(broker, {}).get(row.workload)
    if cell is None:
        return "-", None
    if "error" in cell and row.metric not in cell:
        return "FAIL", None
    value = cell.get(row.metric)
    if value is None:
        return "-", None
    mark = "*" if "error" in cell else ""  # some runs failed; the median is of the others
    return _fmt(value) + mark, float(value)


def table(summary: dict[str, Any], brokers: list[str]) -> str:
    medians = summary["medians"]
    ceiling = summary["loopback_mb_s"]
    head = ["workload (client: confluent-kafka unless named)", *brokers, "kafkish/tansu", "better", "% of loopback"]
    lines = []
    for row in ROWS:
        cells = [_cell(medians, b, row) for b in brokers]
        if all(text == "-" for text, _ in cells):
            continue
        values = {b: v for b, (_, v) in zip(brokers, cells, strict=True)}
        k, t = values.get("kafkish"), values.get("tansu")
        ratio = f"{k / t:.2f}" if k is not None and t else "-"
        pct = "-"
        if row.vs_ceiling and ceiling:
            pct = " / ".join(f"{v / ceiling * 100:.0f}%" if v is not None else "-" for v in values.values())
        lines.append([row.label, *(text for text, _ in cells), ratio, row.better, pct])
    if ceiling:
        lines.append(["loopback socket ceiling (MB/s, Python pair)", *(_fmt(ceiling) for _ in brokers), "-", "", ""])
    widths = [max(len(str(r[i])) for r in [head, *lines]) for i in range(len(head))]
    out = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths, strict=True)))]
    out.append("  ".join("-" * w for w in widths))
    for r in lines:
        out.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
    failures = [
        f"  {broker} {workload}: {cell['error'].splitlines()[0] if cell['error'] else '?'}"
        f" ({cell['failed_runs']} run(s))"
        for broker, by_workload in medians.items()
        for workload, cell in by_workload.items()
        if "error" in cell
    ]
    if failures:
        out += ["", "failures (FAIL: every run failed; *: median of the runs that did not):", *failures]
    return "\n".join(out)

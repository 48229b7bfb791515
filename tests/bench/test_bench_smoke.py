"""A smoke run of the broker benchmark code (bench/broker) against kafkish only: it produces numbers.

Not a performance test (no timed assertions): it checks that the suite's plumbing (a real broker
process, confluent-kafka workloads, medians and the table) runs end to end and reports what it moved.
"""

from __future__ import annotations

import dataclasses

import pytest
from confluent_kafka import TopicPartition

from bench.broker import report, suite, workloads
from bench.broker.clients import WorkloadError, consumer, create_topic, produce_n, producer
from bench.broker.servers import Kafkish

SCALE = dataclasses.replace(
    suite.SMOKE, runs=1, records_100=2_000, workloads=("start", "produce_100b_acks1", "consume_100b", "rss_idle")
)


def test_one_short_round_against_kafkish_produces_numbers() -> None:
    result = suite.run(SCALE, ["kafkish"], log=lambda line: None)
    runs = result["runs"]["kafkish"]
    assert set(runs) == {"start", "rss_idle", "produce_100b_acks1", "consume_100b"}
    for workload, outcomes in runs.items():
        assert "error" not in outcomes[0], f"{workload}: {outcomes[0]}"
    assert runs["produce_100b_acks1"][0]["rec_s"] > 0
    assert runs["produce_100b_acks1"][0]["mb_s"] > 0
    assert runs["consume_100b"][0]["rec_s"] > 0
    assert runs["start"][0]["start_to_first_produce_s"] > 0
    assert 1 < runs["rss_idle"][0]["rss_mib"] < 4096

    summary = report.summarize(result)
    text = report.table(summary, ["kafkish"])
    assert "produce 100b acks=1 (rec/s)" in text
    assert "FAIL" not in text


def test_a_failing_workload_is_recorded_not_raised() -> None:
    summary = report.summarize(
        {"runs": {"kafkish": {"consume_100b": [{"error": "Fetch v4: UNSUPPORTED_VERSION"}]}}, "loopback_mb_s": []}
    )
    text = report.table(summary, ["kafkish"])
    assert "FAIL" in text
    assert "kafkish consume_100b: Fetch v4: UNSUPPORTED_VERSION" in text


def test_kcat_reads_exactly_the_records_asked_for() -> None:
    """The kcat consume workload's check: kcat ends once it has read ``count`` records, and a topic
    holding fewer makes the workload fail instead of timing a short read."""
    with Kafkish() as server:
        create_topic(server.bootstrap, "kcat")
        produce_n(producer(server.bootstrap), "kcat", b"x" * 1024, 500)
        assert workloads.kcat_read(server.bootstrap, "kcat", 500, timeout_s=30) > 0
        with pytest.raises(WorkloadError, match="did not read 501 records"):
            workloads.kcat_read(server.bootstrap, "kcat", 501, timeout_s=3)


def test_produce_n_spreads_records_evenly_and_reports_failures() -> None:
    """The workloads' producer: every record lands, evenly over the partitions asked for; records for
    a partition that does not exist fail the workload instead of vanishing."""
    with Kafkish() as server:
        create_topic(server.bootstrap, "spread", partitions=3)
        produce_n(producer(server.bootstrap), "spread", b"x" * 100, 30_001, partitions=3)
        reader = consumer(server.bootstrap)
        try:
            ends = [reader.get_watermark_offsets(TopicPartition("spread", p), timeout=10)[1] for p in range(3)]
        finally:
            reader.close()
        assert sorted(ends) == [10_000, 10_000, 10_001]
        with pytest.raises(WorkloadError, match="Unknown partition"):
            produce_n(producer(server.bootstrap), "spread", b"x", 8, partitions=4, timeout_s=10)

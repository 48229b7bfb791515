"""The delivery checks: lost, duplicated, reordered, aborted-but-read and unexpected records, on made-up
histories (fast) and on what real clients produced and consumed against a real broker."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from kafkish.testing import Broker, Record, check_delivery
from kafkish.testing._admin import create_topic
from kafkish.testing.checkers import assert_delivery


def recs(*values: str, partition: int = 0, start: int = 0) -> list[Record]:
    return [Record("t", v, partition, start + i) for i, v in enumerate(values)]


def test_a_clean_history_passes() -> None:
    report = check_delivery(recs("a", "b", "c"), recs("a", "b", "c"))
    assert report.ok and str(report) == "all produced records were read once, in order"


def test_a_record_skipped_by_a_consumer_that_read_past_it_is_lost() -> None:
    produced = recs("a", "b", "c")
    report = check_delivery(produced, [produced[0], produced[2]])
    assert [r.value for r in report.lost] == ["b"] and not report.ok
    assert "1 lost: 'b' (t-0@1)" in str(report)


def test_records_the_consumer_never_reached_are_unread_not_lost() -> None:
    produced = recs("a", "b", "c")
    report = check_delivery(produced, produced[:1])
    assert report.ok and [r.value for r in report.unread] == ["b", "c"]


def test_a_record_at_two_offsets_is_duplicated_but_a_reread_offset_is_not() -> None:
    produced = recs("a", "b")
    reread = check_delivery(produced, [*produced, produced[1]])
    assert reread.ok
    twice = check_delivery(produced, [*produced, Record("t", "b", 0, 2)])
    assert len(twice.duplicated) == 1 and "1 duplicated: 'b' at t-0@1, t-0@2" in str(twice)


def test_reordering_within_a_partition_and_not_across_partitions() -> None:
    first, second = recs("a", "b", "c"), recs("x", "y", partition=1)
    across = check_delivery([*first, *second], [second[0], first[0], second[1], first[1], first[2]])
    assert across.ok
    report = check_delivery(recs("a", "b", "c"), [Record("t", "b", 0), Record("t", "a", 0), Record("t", "c", 0)])
    assert [(a.value, b.value) for a, b in report.reordered] == [("b", "a")]


def test_aborted_and_never_produced_reads() -> None:
    report = check_delivery(recs("a"), [*recs("a"), Record("t", "gone", 0, 1), Record("t", "ghost", 0, 2)], ["gone"])
    assert [r.value for r in report.aborted_read] == ["gone"]
    assert [r.value for r in report.unexpected] == ["ghost"]
    with pytest.raises(AssertionError, match="1 aborted but read: 'gone'"):
        report.assert_ok()


def test_plain_values_without_topics_or_offsets() -> None:
    report = check_delivery(["a", "b", "c"], ["a", "c", "c"])
    assert [r.value for r in report.lost] == ["b"] and len(report.duplicated) == 1


def test_real_clients_records_and_a_consumer_that_misses_one() -> None:
    with Broker() as broker:
        create_topic(broker.bootstrap_servers, "checked", 2)
        acked: list[Any] = []
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "enable.idempotence": True})
        for i in range(20):
            producer.produce("checked", key=str(i % 4), value=f"v{i}", on_delivery=lambda e, m: acked.append(m))
        assert producer.flush(30) == 0
        consumer = Consumer(
            {"bootstrap.servers": broker.bootstrap_servers, "group.id": "checker", "auto.offset.reset": "earliest"}
        )
        consumer.subscribe(["checked"])
        read: list[Any] = []
        while len(read) < 20:
            message = consumer.poll(10)
            assert message is not None and message.error() is None
            read.append(message)
        consumer.close()
    assert_delivery(acked, read)
    skipped = [m for m in read if m.value() != b"v5"]
    report = check_delivery(acked, skipped)
    assert [r.value for r in report.lost + report.unread] == [b"v5"]


def test_records_acknowledged_without_an_offset_are_not_judged_for_order() -> None:
    """librdkafka's idempotent producer acknowledges a request with an uncertain outcome implicitly,
    without an offset, once the next request succeeds: those records must be read once, but their place
    among the others is unknown, so reading them in their real place is not a reordering."""
    produced = [*recs("a", "b"), Record("t", "c", 0), Record("t", "d", 0), *recs("e", start=4)]
    read = recs("a", "b", "c", "d", "e")
    report = check_delivery(produced, read)
    assert report.ok, str(report)
    missing = check_delivery(produced, [r for r in read if r.value != "c"])
    assert [r.value for r in missing.lost] == ["c"] and not missing.reordered

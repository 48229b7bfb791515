"""Delivery checks as assertions: given what a test produced and what it consumed, which records were
lost, duplicated, reordered, read although their transaction aborted, or read but never produced.
These are the checks Jepsen's Kafka test runs on its histories, for one test's records.

Records are identified by (topic, value), so each produced value must be unique per topic, as in
Jepsen. A record may be a confluent-kafka ``Message``, a kafka-python or aiokafka ``ConsumerRecord``, a
``RecordMetadata``-like object with ``topic``/``partition``/``offset``, a ``Record``, or a plain value
(then topic and partition are unknown and only values are compared).

Definitions (per topic and partition):
- lost: produced (acknowledged) and never read, although the consumer read a later offset of the same
  partition, or, when offsets are unknown, never read at all;
- unread: produced and not read, and the consumer never got as far as its offset (not a loss: the test
  stopped reading early);
- duplicated: read at two or more different offsets (or, without offsets, read more than once);
- reordered: read after a record that was produced after it (produce order is offset order when offsets
  are known, else the order of ``produced``). A record acknowledged without an offset in a history
  where others have one (librdkafka's idempotent producer acknowledges a request with an uncertain
  outcome that way once the next one succeeds) has no known place: it is checked for loss and
  duplication, not for order;
- aborted_read: read although it is in ``aborted`` (what a ``read_committed`` consumer must never see);
- unexpected: read, but neither produced nor aborted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Record:
    """One record as the checks see it. ``partition`` and ``offset`` are None when unknown."""

    topic: str | None
    value: Any
    partition: int | None = None
    offset: int | None = None

    def where(self) -> str:
        at = f"{self.topic or '?'}-{'?' if self.partition is None else self.partition}"
        return at if self.offset is None else f"{at}@{self.offset}"


def as_record(item: Any) -> Record:
    """Normalize a client library's record (or a plain value) to a ``Record``."""
    if isinstance(item, Record):
        return item
    topic = getattr(item, "topic", None)
    if callable(topic):  # confluent-kafka Message
        offset = item.offset()
        return Record(
            topic(), _plain(item.value()), item.partition(), offset if offset is not None and offset >= 0 else None
        )
    if topic is not None and hasattr(item, "value"):  # kafka-python / aiokafka ConsumerRecord
        return Record(topic, _plain(item.value), getattr(item, "partition", None), getattr(item, "offset", None))
    return Record(None, _plain(item))


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, bytearray | memoryview) else value


@dataclass
class DeliveryReport:
    lost: list[Record] = field(default_factory=list)
    unread: list[Record] = field(default_factory=list)
    duplicated: list[tuple[Record, ...]] = field(default_factory=list)
    reordered: list[tuple[Record, Record]] = field(default_factory=list)
    aborted_read: list[Record] = field(default_factory=list)
    unexpected: list[Record] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was lost, duplicated, reordered, aborted-but-read or unexpected."""
        return not (self.lost or self.duplicated or self.reordered or self.aborted_read or self.unexpected)

    def __str__(self) -> str:
        lines: list[str] = []
        _list(lines, "lost", [f"{r.value!r} ({r.where()})" for r in self.lost])
        _list(lines, "duplicated", [f"{d[0].value!r} at {', '.join(r.where() for r in d)}" for d in self.duplicated])
        _list(lines, "reordered", [f"{b.value!r} read after {a.value!r} ({b.where()})" for a, b in self.reordered])
        _list(lines, "aborted but read", [f"{r.value!r} ({r.where()})" for r in self.aborted_read])
        _list(lines, "read but never produced", [f"{r.value!r} ({r.where()})" for r in self.unexpected])
        _list(lines, "not read yet (not a loss)", [f"{r.value!r} ({r.where()})" for r in self.unread])
        return "\n".join(lines) or "all produced records were read once, in order"

    def assert_ok(self) -> None:
        if not self.ok:
            raise AssertionError(f"delivery check failed:\n{self}")


def _list(lines: list[str], what: str, items: list[str], limit: int = 10) -> None:
    if items:
        shown = "; ".join(items[:limit]) + (f"; ... ({len(items) - limit} more)" if len(items) > limit else "")
        lines.append(f"{len(items)} {what}: {shown}")


def check_delivery(produced: Iterable[Any], consumed: Iterable[Any], aborted: Iterable[Any] = ()) -> DeliveryReport:
    """Compare what was produced (acknowledged) with what was consumed, in consumption order."""
    sent = [as_record(item) for item in produced]
    read = [as_record(item) for item in consumed]
    aborted_keys = {(r.topic, r.value) for r in map(as_record, aborted)}
    report = DeliveryReport()

    order: dict[tuple[str | None, Any], int] = {}
    by_key: dict[tuple[str | None, Any], Record] = {}
    ranked = sorted(enumerate(sent), key=lambda ir: (ir[1].offset is None, ir[1].offset or 0, ir[0]))
    for rank, (_, record) in enumerate(ranked):
        order[(record.topic, record.value)] = rank
        by_key[(record.topic, record.value)] = record
    placeless = (
        {key for key, r in by_key.items() if r.offset is None} if any(r.offset is not None for r in sent) else set()
    )
    by_value: dict[Any, list[tuple[str | None, Any]]] = defaultdict(list)
    for key in by_key:
        by_value[key[1]].append(key)

    reads: dict[tuple[str | None, Any], list[Record]] = defaultdict(list)
    high: dict[tuple[str | None, int | None], int] = {}
    last_in_partition: dict[tuple[str | None, int | None], tuple[int, Record]] = {}
    for record in read:
        key = (record.topic, record.value) if record.topic is not None else _by_value(by_value, record.value)
        reads[key].append(record)
        partition = (record.topic, record.partition)
        if record.offset is not None:
            high[partition] = max(high.get(partition, -1), record.offset)
        if key in aborted_keys or (None, record.value) in aborted_keys:
            report.aborted_read.append(record)
            continue
        position = order.get(key)
        if position is None:
            report.unexpected.append(record)
            continue
        if len(reads[key]) > 1 or key in placeless:
            continue  # a second read is judged as a duplicate, not for order; a placeless one not at all
        previous = last_in_partition.get(partition)
        if previous is not None and position < previous[0]:
            report.reordered.append((previous[1], record))
        if previous is None or position > previous[0]:
            last_in_partition[partition] = (position, record)

    for key, records in reads.items():
        if key not in order:
            continue
        offsets = {r.offset for r in records}
        if (None in offsets and len(records) > 1) or len(offsets) > 1:
            report.duplicated.append(tuple(records))
    for record in sent:
        key = (record.topic, record.value)
        if key in reads or (None, record.value) in reads:
            continue
        reached = high.get((record.topic, record.partition))
        if record.offset is not None and (reached is None or reached < record.offset):
            report.unread.append(record)
        else:
            report.lost.append(record)
    return report


def _by_value(by_value: dict[Any, list[tuple[str | None, Any]]], value: Any) -> tuple[str | None, Any]:
    """A topicless read matches the one produced record with its value (ambiguous: topicless)."""
    matches = by_value.get(value, [])
    return matches[0] if len(matches) == 1 else (None, value)


def assert_delivery(produced: Iterable[Any], consumed: Iterable[Any], aborted: Iterable[Any] = ()) -> DeliveryReport:
    """``check_delivery`` as an assertion: raises AssertionError naming every anomaly; returns the report."""
    report = check_delivery(produced, consumed, aborted)
    report.assert_ok()
    return report

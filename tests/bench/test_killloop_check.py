"""The kill loops' history check (bench/killloop.py), in process: what it calls lost, duplicated and
reordered, including records librdkafka acknowledges without an offset."""

from __future__ import annotations

from typing import Any

from bench.killloop import Tally, check


class Delivered:
    """What librdkafka hands a delivery callback: a message with partition, offset (None: unknown), value."""

    def __init__(self, partition: int, offset: int | None, value: bytes) -> None:
        self._partition, self._offset, self._value = partition, offset, value

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int | None:
        return self._offset

    def value(self) -> bytes:
        return self._value


def tally(*acks: tuple[int, int | None, bytes]) -> Tally:
    result = Tally()
    for p, offset, value in acks:
        message: Any = Delivered(p, offset, value)
        result.delivered(None, message)
    return result


def test_records_acknowledged_without_an_offset_count_as_acked_and_are_found_by_value() -> None:
    # librdkafka's "implicit ack": the first request's outcome was unknown, the next one succeeded
    acks = tally((0, None, b"0:0"), (0, None, b"0:1"), (0, 2, b"0:2"))
    stored = {(0, 0): b"0:0", (0, 1): b"0:1", (0, 2): b"0:2"}
    assert check(acks, stored) == {"acked": 3, "stored": 3, "lost": 0, "duplicated": 0, "reordered": 0}


def test_a_missing_record_is_lost_with_or_without_its_offset() -> None:
    acks = tally((0, None, b"0:0"), (0, 1, b"0:1"), (1, None, b"1:0"))
    stored = {(0, 0): b"0:1", (1, 0): b"0:0"}  # 0:0 is in the wrong partition, 1:0 nowhere; 0:1 moved
    assert check(acks, stored)["lost"] == 3

"""The cleaner in steps (``LogCleaner.clean_steps``, ``LogManager.clean_logs_steps``): whatever the
log's owner does to the log between two steps, the cleaning either finishes correctly or gives up
quietly, and a reader sees each key's latest record at its offset."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from storage.checkpoints import read_offset_checkpoint
from storage.cleaner.cleaner import LogCleaner, Step
from storage.fs import REAL_FS
from storage.log.log import Log
from storage.manager import LogManager
from storage.recovery.loader import LogLoader
from tests.storage.cleaner_support import append_all, compacted, latest, records, seal
from tests.storage.conftest import Clock

T = TypeVar("T")
Row = tuple[int, bytes | None, bytes | None]

KEYS = 12
ROUNDS = 40  # 480 records in ~40 segments of 1 KiB


def overwrites(keys: int, rounds: int, tag: str = "v") -> list[tuple[bytes, bytes | None]]:
    return [(f"k{k}".encode(), f"{tag}{r}-{k}".encode()) for r in range(rounds) for k in range(keys)]


_BUILT: list[Log] = []


@pytest.fixture(autouse=True)
def _close_built_logs() -> Iterator[None]:
    """Each test's logs are closed after it (a closed, deleted or offline one too): left open, a log's
    segment and index files stay open in the test process (about 20 descriptors per log)."""
    yield
    while _BUILT:
        with contextlib.suppress(Exception):
            _BUILT.pop().close(snapshot=False)


def build(directory: Path, clock: Clock, **config: object) -> tuple[Log, list[Row]]:
    """A compacted log of many small sealed segments, never cleaned; and what was appended."""
    log = LogLoader.load(str(directory), "topic", 0, compacted(**config), REAL_FS, clock, clean_shutdown=True)
    _BUILT.append(log)
    append_all(log, overwrites(KEYS, ROUNDS), per_batch=2)
    seal(log)
    return log, records(log)


def drive(steps: Generator[Step, None, T], at: int = -1, action: Callable[[], None] = lambda: None) -> tuple[T, int]:
    """Run ``steps`` to the end, doing the blocking work they hand over and ``action`` at pause number
    ``at``; (value, number of pauses)."""
    pauses = 0
    while True:
        try:
            step = next(steps)
        except StopIteration as stop:
            return stop.value, pauses
        if step is not None:
            step()
        if pauses == at:
            action()
        pauses += 1


def leftovers(directory: str) -> list[str]:
    if not os.path.isdir(directory):
        return []
    return [n for n in os.listdir(directory) if n.endswith((".cleaned", ".swap"))]


def latest_from(appended: list[Row], start: int) -> list[Row]:
    """What a fully compacted log starting at ``start`` holds: each key's last record at or after it."""
    return sorted(
        (offset, key, value) for key, (offset, value) in latest([r for r in appended if r[0] >= start]).items()
    )


def assert_readable(log: Log, appended: list[Row]) -> None:
    """A reader sees only appended records, in offset order, and each key's latest record (from the
    log start on) at its offset."""
    seen = records(log)
    assert set(seen) <= set(appended)
    assert [r[0] for r in seen] == sorted({r[0] for r in seen})
    assert set(latest_from(appended, log.log_start_offset)) <= set(seen)


def pause_count(tmp_path: Path, clock: Clock) -> int:
    log, _ = build(tmp_path / "count-0", clock)
    result, pauses = drive(LogCleaner(REAL_FS, clock).clean_steps(log, None))
    assert result is not None
    log.close()
    return pauses


WHEN = [0.02, 0.25, 0.5, 0.75, 0.98]  # fractions of the cleaning's pauses: mapping, then rewriting


def test_a_cleaning_is_cut_into_many_small_steps(tmp_path: Path, clock: Clock) -> None:
    log, appended = build(tmp_path / "topic-0", clock)
    assert len(log.segments) > 20
    result, pauses = drive(LogCleaner(REAL_FS, clock).clean_steps(log, None))
    assert result is not None and result.end_offset == log.log_end_offset
    assert pauses > 2 * len(log.segments)  # at least after mapping and after rewriting each segment
    assert records(log) == latest_from(appended, 0)


def test_a_large_segment_is_read_in_steps_of_step_bytes(tmp_path: Path, clock: Clock) -> None:
    log, appended = build(tmp_path / "topic-0", clock, segment_bytes=1 << 20)
    assert len(log.segments) == 2 and log.segments[0].size > 20_000  # one big sealed segment
    result, pauses = drive(LogCleaner(REAL_FS, clock, step_bytes=1024).clean_steps(log, None))
    assert result is not None
    assert pauses >= 2 * log.segments[0].size // 1024 or pauses > 30
    assert records(log) == latest_from(appended, 0)


def test_run_at_once_and_in_steps_give_the_same_log(tmp_path: Path, clock: Clock) -> None:
    at_once, appended = build(tmp_path / "a-0", clock)
    stepped, _ = build(tmp_path / "b-0", clock)
    assert LogCleaner(REAL_FS, clock).clean(at_once, None) is not None
    drive(LogCleaner(REAL_FS, clock).clean_steps(stepped, None))
    assert records(at_once) == records(stepped) == latest_from(appended, 0)
    assert [s.base_offset for s in at_once.segments] == [s.base_offset for s in stepped.segments]


@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("how", ["delete records", "retention bytes"])
def test_head_segments_deleted_between_steps(tmp_path: Path, clock: Clock, when: float, how: str) -> None:
    at = int(pause_count(tmp_path, clock) * when)
    log, appended = build(tmp_path / "topic-0", clock, cleanup_policy=("compact", "delete"))
    cleaner = LogCleaner(REAL_FS, clock)
    bases = [s.base_offset for s in log.segments]

    def delete_head() -> None:
        if how == "delete records":
            log.delete_records_before(bases[len(bases) // 3])
        else:
            log.update_config(dataclasses.replace(log.config, retention_bytes=log.size // 2))
        assert log.delete_old_segments() > 0

    result, _ = drive(cleaner.clean_steps(log, None), at, delete_head)
    assert log.log_start_offset > 0
    assert leftovers(log.directory) == []
    assert_readable(log, appended)
    checkpoint = None if result is None else result.end_offset
    cleaner.clean(log, checkpoint)  # a later cleaning works, whatever the first one did
    assert records(log) == latest_from(appended, log.log_start_offset)
    assert leftovers(log.directory) == []


@pytest.mark.parametrize("when", WHEN)
def test_a_log_closed_between_steps_is_left_alone(tmp_path: Path, clock: Clock, when: float) -> None:
    at = int(pause_count(tmp_path, clock) * when)
    log, appended = build(tmp_path / "topic-0", clock)
    result, _ = drive(LogCleaner(REAL_FS, clock).clean_steps(log, None), at, log.close)
    assert result is None  # given up: the checkpoint does not move
    assert leftovers(log.directory) == []
    again = LogLoader.load(log.directory, "topic", 0, compacted(), REAL_FS, clock, clean_shutdown=True)
    again.set_high_watermark(again.log_end_offset)
    assert again.log_end_offset == log.log_end_offset
    assert_readable(again, appended)
    assert LogCleaner(REAL_FS, clock).clean(again, None) is not None
    assert records(again) == latest_from(appended, 0)
    again.close()


@pytest.mark.parametrize("when", WHEN)
def test_a_log_deleted_between_steps_is_given_up_quietly(tmp_path: Path, clock: Clock, when: float) -> None:
    at = int(pause_count(tmp_path, clock) * when)
    log, _ = build(tmp_path / "topic-0", clock)
    cleaner = LogCleaner(REAL_FS, clock)
    result, _ = drive(cleaner.clean_steps(log, None), at, log.delete)
    assert result is None
    assert not os.path.exists(log.directory)
    assert cleaner.clean(log, None) is None  # an offline log is not cleaned


@pytest.mark.parametrize("when", WHEN)
def test_appends_and_rolls_between_steps_do_not_stop_the_cleaning(tmp_path: Path, clock: Clock, when: float) -> None:
    at = int(pause_count(tmp_path, clock) * when)
    log, appended = build(tmp_path / "topic-0", clock)
    cleaner = LogCleaner(REAL_FS, clock)
    end_before = log.log_end_offset
    everything = list(appended)

    def append_and_roll() -> None:
        pairs = overwrites(KEYS // 2, 2, tag=f"late{len(everything)}-")
        everything.extend((log.log_end_offset + i, key, value) for i, (key, value) in enumerate(pairs))
        append_all(log, pairs, per_batch=3)
        log.roll()
        log.set_high_watermark(log.log_end_offset)

    steps = cleaner.clean_steps(log, None)
    pauses = 0
    result = None
    while True:  # append and roll at every pause from ``at`` on
        try:
            next(steps)
        except StopIteration as stop:
            result = stop.value
            break
        if pauses >= at:
            append_and_roll()
        pauses += 1
    assert result is not None and result.end_offset == end_before  # the plan made at the start
    assert len(everything) > len(appended)
    dirty = [r for r in everything if r[0] < end_before]
    expected = latest_from(dirty, 0) + [r for r in everything if r[0] >= end_before]
    assert records(log) == expected
    assert leftovers(log.directory) == []
    seal(log)
    assert cleaner.clean(log, result.end_offset) is not None
    assert records(log) == latest_from(everything, 0)


@pytest.mark.parametrize("when", WHEN)
def test_closing_the_generator_removes_its_files_and_changes_nothing_else(
    tmp_path: Path, clock: Clock, when: float
) -> None:
    at = int(pause_count(tmp_path, clock) * when)
    log, appended = build(tmp_path / "topic-0", clock)
    steps = LogCleaner(REAL_FS, clock).clean_steps(log, None)
    for _ in range(at + 1):
        next(steps)
    before = records(log)
    bases = [s.base_offset for s in log.segments]
    files = sorted(n for n in os.listdir(log.directory) if not n.endswith((".cleaned", ".deleted")))
    steps.close()
    assert leftovers(log.directory) == []
    assert records(log) == before and [s.base_offset for s in log.segments] == bases
    assert sorted(n for n in os.listdir(log.directory) if not n.endswith(".deleted")) == files
    assert_readable(log, appended)


def manager_with_two_logs(tmp_path: Path, clock: Clock) -> tuple[LogManager, list[Row]]:
    manager = LogManager([str(tmp_path)], time_ms=clock, topic_configs=lambda t: compacted())
    manager.startup()
    appended: list[Row] = []
    for topic in ("first", "second"):
        log = manager.get_or_create_log(topic, 0)
        append_all(log, overwrites(KEYS, ROUNDS // 2), per_batch=2)
        seal(log)
        appended = records(log)
    return manager, appended


@pytest.mark.parametrize("when", WHEN)
def test_the_manager_drops_a_log_deleted_and_recreated_between_steps(tmp_path: Path, clock: Clock, when: float) -> None:
    manager, appended = manager_with_two_logs(tmp_path / "count", clock)
    _, pauses = drive(manager.clean_logs_steps())
    manager.shutdown()
    manager, appended = manager_with_two_logs(tmp_path / "dir", clock)
    first = manager.get_log("first", 0)
    assert first is not None
    recreated: list[Log] = []

    def delete_and_recreate() -> None:
        manager.delete_log("first", 0)
        log = manager.get_or_create_log("first", 0)
        append_all(log, overwrites(2, 3), per_batch=1)
        seal(log)
        recreated.append(log)

    cleaned, _ = drive(manager.clean_logs_steps(), int(pauses * when), delete_and_recreate)
    assert cleaned >= 1  # "second" at least (and "first" if it was done before the deletion)
    assert manager.uncleanable_partitions == set()
    checkpoint = read_offset_checkpoint(str(tmp_path / "dir" / "cleaner-offset-checkpoint"))
    assert ("first", 0) not in checkpoint and checkpoint[("second", 0)] == len(appended)
    new = recreated[0]
    assert leftovers(new.directory) == []
    assert records(new) == [(i, f"k{i % 2}".encode(), f"v{i // 2}-{i % 2}".encode()) for i in range(6)]
    second = manager.get_log("second", 0)
    assert second is not None and records(second) == latest_from(appended, 0)
    assert manager.clean_logs() == 1  # the new "first" is cleaned at the next pass
    assert records(new) == [(4, b"k0", b"v2-0"), (5, b"k1", b"v2-1")]
    manager.shutdown()


def test_the_manager_abandons_cleaning_when_its_pass_is_closed(tmp_path: Path, clock: Clock) -> None:
    manager, _ = manager_with_two_logs(tmp_path, clock)
    steps = manager.clean_logs_steps()
    for _ in range(5):
        next(steps)
    steps.close()
    for tp, log in manager.logs.items():
        assert leftovers(log.directory) == [], tp
    assert not (tmp_path / "cleaner-offset-checkpoint").exists()  # nothing written
    assert manager.clean_logs() == 2
    manager.shutdown()


def test_the_fsync_of_a_cleaned_segment_is_handed_to_the_driver(tmp_path: Path, clock: Clock) -> None:
    """The one long blocking call of a cleaning comes out as work for the driver (the broker runs it
    in a worker thread); if it fails, the cleaning removes its files, leaves the log as it was and
    raises the error."""
    log, appended = build(tmp_path / "handed-0", clock)
    before = records(log)
    steps = LogCleaner(REAL_FS, clock).clean_steps(log, None)
    handed = 0
    with pytest.raises(OSError, match="disk full"):
        step = next(steps)
        while True:
            if step is None:
                step = next(steps)
                continue
            handed += 1
            step = steps.throw(OSError("disk full"))  # as if the fsync failed in the worker thread
    assert handed == 1
    assert leftovers(log.directory) == []
    assert records(log) == before
    log.close()
    again = LogLoader.load(log.directory, "topic", 0, log.config, REAL_FS, clock, clean_shutdown=True)
    assert records(again) == before
    again.set_high_watermark(again.log_end_offset)  # the broker restores it from its checkpoint
    assert drive(LogCleaner(REAL_FS, clock).clean_steps(again, None))[0] is not None
    assert records(again) == latest_from(appended, 0)
    again.close()

"""Moving a log between log dirs (storage.log_move, LogManager.complete_move): appends, a roll,
compaction and retention between copy rounds all end up in the moved log, which is the partition's
log afterwards, also after a restart; an unfinished move is abandoned at the next start."""

from __future__ import annotations

import os
from pathlib import Path

from storage.checkpoints import MetaProperties
from storage.config import LogConfig
from storage.log_move import LogMove, log_future_dir_name
from storage.manager import LogManager
from tests.storage.cleaner_support import append_all, compacted, keyed, records, seal


def manager(dirs: list[Path], config: LogConfig | None = None) -> LogManager:
    m = LogManager([str(d) for d in dirs], config, meta=MetaProperties("c", 1))
    m.startup()
    return m


def test_appends_between_rounds_and_after_the_last_are_in_the_moved_log(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    m = manager([a, b], compacted(segment_bytes=2048))
    log = m.get_or_create_log("t", 0)
    source_dir = m.log_dir_of("t", 0)
    destination = str(b) if source_dir == str(a) else str(a)
    append_all(log, [(b"k%d" % (i % 7), b"v%d" % i) for i in range(100)])
    move = LogMove(log, destination)
    assert move.copy_round() > 0
    append_all(log, [(b"k%d" % (i % 7), b"w%d" % i) for i in range(50)])  # more segments, a roll
    seal(log)
    m.clean_logs()  # compaction replaces the segments copied in the first round
    assert move.copy_round() > 0
    append_all(log, [(b"late", b"%d" % i) for i in range(5)])  # after the last round: copied by the swap
    expected = records(log)
    end, start, hw = log.log_end_offset, log.log_start_offset, log.high_watermark
    doomed = m.complete_move(move)
    moved = m.get_log("t", 0)
    assert moved is not None and moved is not log
    assert os.path.dirname(moved.directory) == destination == m.log_dir_of("t", 0)
    assert (moved.log_end_offset, moved.log_start_offset, moved.high_watermark) == (end, start, hw)
    assert records(moved) == expected
    assert doomed.endswith("-delete") and not os.path.exists(log.directory)
    m.remove_deleted_dirs([doomed])
    moved.append_as_leader(keyed([(b"after", b"move")]), 0)  # the moved log takes appends
    m.shutdown()
    again = manager([a, b], compacted(segment_bytes=2048))
    reloaded = again.get_log("t", 0)
    assert reloaded is not None and os.path.dirname(reloaded.directory) == destination
    assert records(reloaded)[: len(expected)] == expected and reloaded.log_end_offset == end + 1
    again.shutdown()


def test_an_unfinished_move_is_abandoned_at_the_next_start(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    m = manager([a, b])
    log = m.get_or_create_log("t", 0)
    destination = str(b) if m.log_dir_of("t", 0) == str(a) else str(a)
    move = LogMove(log, destination)
    move.copy_round()
    assert os.path.basename(move.future_path).startswith("t-0.") and move.future_path.endswith("-future")
    m.shutdown()  # a stop before the swap: the source is the partition's log
    again = manager([a, b])
    assert not os.path.exists(move.future_path)
    assert again.log_dir_of("t", 0) != destination
    again.shutdown()
    assert len(log_future_dir_name("t", 0)) == len("t-0.") + 32 + len("-future")

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from storage.checkpoints import MetaProperties, read_offset_checkpoint, read_partition_metadata
from storage.config import LogConfig
from storage.errors import LogOffline, StorageError
from storage.manager import CLEAN_SHUTDOWN_FILE, LogManager
from tests.storage.batches import make_batch
from tests.storage.conftest import Clock


def manager(dirs: list[Path], clock: Clock, config: LogConfig | None = None) -> LogManager:
    m = LogManager([str(d) for d in dirs], config, meta=MetaProperties("cluster-1", 1), time_ms=clock)
    m.startup()
    return m


def test_logs_survive_a_clean_restart_with_checkpoints(tmp_path: Path, clock: Clock) -> None:
    dirs = [tmp_path / "d1", tmp_path / "d2"]
    m = manager(dirs, clock)
    topic_id = uuid.uuid4()
    for p in range(4):
        log = m.get_or_create_log("orders", p, topic_id=topic_id)
        log.append_as_leader(make_batch([b"x"] * (p + 1)), 0)
        log.set_high_watermark(log.log_end_offset)
    m.get_or_create_log("orders", 3).delete_records_before(2)
    assert [sorted(n for n in os.listdir(d) if n.startswith("orders")) for d in dirs] == [
        ["orders-0", "orders-2"],
        ["orders-1", "orders-3"],
    ]  # spread over the log dirs
    m.shutdown()
    for d in dirs:
        assert (d / CLEAN_SHUTDOWN_FILE).exists()
        assert (d / "meta.properties").exists()
    offsets = {}
    for d in dirs:
        offsets.update(read_offset_checkpoint(str(d / "recovery-point-offset-checkpoint")))
    assert offsets == {("orders", p): p + 1 for p in range(4)}

    again = manager(dirs, clock)
    assert all(again.had_clean_shutdown.values())
    assert not any((d / CLEAN_SHUTDOWN_FILE).exists() for d in dirs)  # a later crash is unclean
    for p in range(4):
        reopened = again.get_log("orders", p)
        assert reopened is not None
        assert reopened.log_end_offset == p + 1 and reopened.high_watermark == p + 1
    log3 = again.get_log("orders", 3)
    assert log3 is not None and log3.log_start_offset == 2
    assert read_partition_metadata(os.path.join(log3.directory, "partition.metadata")) == topic_id


def test_one_broken_partition_does_not_stop_the_others(tmp_path: Path, clock: Clock) -> None:
    m = manager([tmp_path], clock)
    for p in range(3):
        m.get_or_create_log("t", p).append_as_leader(make_batch([b"x"]), 0)
    m.shutdown()
    broken = tmp_path / "t-1" / "partition.metadata"
    broken.write_text("garbage\n")
    again = manager([tmp_path], clock)
    assert again.offline_partitions == {("t", 1)}
    with pytest.raises(LogOffline):
        again.get_log("t", 1)
    log0 = again.get_log("t", 0)
    assert log0 is not None and log0.append_as_leader(make_batch([b"y"]), 0).first_offset == 1
    again.shutdown()
    assert not (tmp_path / CLEAN_SHUTDOWN_FILE).exists()  # offline partition: next start recovers


def test_unclean_restart_recovers_torn_tails(tmp_path: Path, clock: Clock) -> None:
    m = manager([tmp_path], clock)
    log = m.get_or_create_log("t", 0)
    log.append_as_leader(make_batch([b"x"] * 3), 0)
    m.checkpoint_recovery_points()
    log.close()  # crash: no shutdown, no marker
    with open(os.path.join(log.directory, "00000000000000000000.log"), "ab") as f:
        f.write(b"\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x01")
    again = manager([tmp_path], clock)
    assert again.had_clean_shutdown[str(tmp_path)] is False
    recovered = again.get_log("t", 0)
    assert recovered is not None and recovered.log_end_offset == 3
    assert recovered.active_segment.size == len(make_batch([b"x"] * 3))


def test_delete_log_and_retention_pass(tmp_path: Path, clock: Clock) -> None:
    m = manager([tmp_path], clock, LogConfig(segment_bytes=200, retention_ms=1000, file_delete_delay_ms=0))
    log = m.get_or_create_log("t", 0)
    for _ in range(4):
        log.append_as_leader(make_batch([b"x" * 80], timestamps=[clock.now]), 0)
    log.set_high_watermark(4)
    assert m.cleanup_logs(clock.now) == 0
    clock.advance(1001)
    assert m.cleanup_logs() == 4
    m.delete_log("t", 0)
    assert m.get_log("t", 0) is None
    assert not any(n.startswith("t-0") for n in os.listdir(tmp_path))


def test_meta_properties_of_another_cluster_is_refused(tmp_path: Path, clock: Clock) -> None:
    manager([tmp_path], clock).shutdown()
    other = LogManager([str(tmp_path)], meta=MetaProperties("cluster-2", 1), time_ms=clock)
    with pytest.raises(StorageError):
        other.startup()

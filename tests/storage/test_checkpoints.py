from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from storage.checkpoints import (
    CheckpointError,
    MetaProperties,
    read_epoch_checkpoint,
    read_meta_properties,
    read_offset_checkpoint,
    read_partition_metadata,
    topic_id_to_str,
    write_meta_properties,
    write_offset_checkpoint,
    write_partition_metadata,
)
from storage.config import LogConfig
from storage.errors import ConfigError
from storage.fs import REAL_FS
from storage.log.epoch_cache import LeaderEpochCache


def test_offset_checkpoint_is_kafkas_text_format(tmp_path: Path) -> None:
    path = str(tmp_path / "recovery-point-offset-checkpoint")
    write_offset_checkpoint(REAL_FS, path, {("b-topic", 1): 7, ("a", 0): 42})
    assert Path(path).read_text() == "0\n2\na 0 42\nb-topic 1 7\n"
    assert read_offset_checkpoint(path) == {("a", 0): 42, ("b-topic", 1): 7}
    assert not (tmp_path / "recovery-point-offset-checkpoint.tmp").exists()


def test_malformed_checkpoint_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cp"
    path.write_text("0\n3\na 0 1\n")
    with pytest.raises(CheckpointError):
        read_offset_checkpoint(str(path))
    path.write_text("1\n0\n")
    with pytest.raises(CheckpointError):
        read_offset_checkpoint(str(path))


def test_leader_epoch_checkpoint_format_and_semantics(tmp_path: Path) -> None:
    cache = LeaderEpochCache(str(tmp_path), REAL_FS)
    cache.assign(0, 0)
    cache.assign(2, 10)
    cache.assign(1, 20)  # older epoch: ignored
    cache.assign(5, 30)
    assert (tmp_path / "leader-epoch-checkpoint").read_text() == "0\n3\n0 0\n2 10\n5 30\n"
    assert read_epoch_checkpoint(str(tmp_path / "leader-epoch-checkpoint")) == [(0, 0), (2, 10), (5, 30)]
    assert cache.end_offset_for_epoch(2, 50) == (2, 30)
    assert cache.end_offset_for_epoch(3, 50) == (2, 30)
    assert cache.end_offset_for_epoch(5, 50) == (5, 50)
    assert cache.end_offset_for_epoch(6, 50) == (-1, -1)
    cache.truncate_from_start(15)
    assert cache.entries == [(2, 15), (5, 30)]
    cache.truncate_from_end(30)
    assert LeaderEpochCache(str(tmp_path), REAL_FS).entries == [(2, 15)]


def test_partition_metadata_format(tmp_path: Path) -> None:
    topic_id = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
    path = str(tmp_path / "partition.metadata")
    write_partition_metadata(REAL_FS, path, topic_id)
    assert Path(path).read_text() == f"version: 0\ntopic_id: {topic_id_to_str(topic_id)}\n"
    assert len(topic_id_to_str(topic_id)) == 22 and "=" not in topic_id_to_str(topic_id)
    assert read_partition_metadata(path) == topic_id


def test_meta_properties_round_trip_and_zookeeper_era_files(tmp_path: Path) -> None:
    write_meta_properties(REAL_FS, str(tmp_path), MetaProperties("abc123", 3))
    text = (tmp_path / "meta.properties").read_text()
    assert "version=1\n" in text and "node.id=3\n" in text and "cluster.id=abc123\n" in text
    assert read_meta_properties(str(tmp_path)) == MetaProperties("abc123", 3)
    (tmp_path / "meta.properties").write_text("#comment\nversion=0\nbroker.id=7\ncluster.id=xyz\n")
    assert read_meta_properties(str(tmp_path)) == MetaProperties("xyz", 7, 0)


def test_log_config_uses_kafka_names_and_validates() -> None:
    config = LogConfig.from_props({"retention.ms": "-1", "cleanup.policy": "compact,delete", "segment.bytes": 2048})
    assert config.retention_ms == -1 and config.compact_enabled and config.delete_enabled
    assert config.segment_bytes == 2048
    assert LogConfig().to_props()["segment.bytes"] == "1073741824"
    assert LogConfig().to_props()["flush.ms"] == str(2**63 - 1)
    for bad in (
        {"retention.ms": "-2"},
        {"segment.bytes": "10"},
        {"message.timestamp.type": "Wall"},
        {"no.such.config": "1"},
        {"flush.messages": "many"},
        {"cleanup.policy": "delete,forever"},
    ):
        with pytest.raises(ConfigError):
            LogConfig.from_props(bad)


def test_scheduled_epoch_writes_land_in_order_and_close_writes_what_is_pending(tmp_path: Path) -> None:
    """With a write scheduler (the broker's worker thread) a change hands its write over; run in order,
    the file ends with the last change, a stale write never overwrites a newer one, and close writes
    what no scheduled write has yet."""
    path = tmp_path / "leader-epoch-checkpoint"
    cache = LeaderEpochCache(str(tmp_path), REAL_FS)
    queued: list[Callable[[], None]] = []
    cache.write_scheduler = queued.append
    cache.assign(0, 0)
    cache.assign(3, 10)
    assert not path.exists()  # nothing written on the caller's thread
    queued.pop()()  # the newer write first: the older one is then stale
    queued.pop()()
    assert read_epoch_checkpoint(str(path)) == [(0, 0), (3, 10)]
    cache.truncate_from_end(10)
    cache.close()  # its write is still queued: close writes it
    assert read_epoch_checkpoint(str(path)) == [(0, 0)]
    queued.pop()()  # and the queued one then does nothing
    assert read_epoch_checkpoint(str(path)) == [(0, 0)]


def test_released_epoch_cache_drops_scheduled_writes(tmp_path: Path) -> None:
    cache = LeaderEpochCache(str(tmp_path), REAL_FS)
    queued: list[Callable[[], None]] = []
    cache.write_scheduler = queued.append
    cache.assign(1, 0)
    cache.release()  # its directory was renamed away for deletion
    queued.pop()()
    assert not (tmp_path / "leader-epoch-checkpoint").exists()


def test_clearing_the_epochs_is_written_at_once_even_with_a_scheduler(tmp_path: Path) -> None:
    cache = LeaderEpochCache(str(tmp_path), REAL_FS)
    cache.assign(2, 0)  # no scheduler: written now
    queued: list[Callable[[], None]] = []
    cache.write_scheduler = queued.append
    cache.assign(4, 7)
    cache.clear()  # the log was emptied: stale epochs must not survive a crash
    assert read_epoch_checkpoint(str(tmp_path / "leader-epoch-checkpoint")) == []
    queued.pop()()  # the earlier scheduled write is stale
    assert read_epoch_checkpoint(str(tmp_path / "leader-epoch-checkpoint")) == []

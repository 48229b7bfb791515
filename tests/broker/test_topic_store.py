"""The embedded controller's topic store (broker/topics.py): saves off the loop, through the filesystem
seam, with the previous good copy kept for a damaged file; and a deletion that fails on disk."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

import pytest

from broker.config import BrokerConfig
from broker.controller.embedded import EmbeddedController
from broker.controller.errors import ControllerError
from broker.metadata_cache import MetadataCache
from broker.replica_manager import ReplicaManager
from broker.topics import METADATA_FILE, MetadataLoadError, TopicMetadata, TopicStore, new_topic_id
from protocol.errors import ErrorCode
from storage.fs import FileSystem
from storage.manager import LogManager


class RecordingFs(FileSystem):
    """Counts the atomic writes (and the threads they run on); fails them while ``failing``."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, str]] = []
        self.failing = False

    def write_file_atomically(self, path: str, data: bytes, *, sync: bool = True) -> None:
        if self.failing:
            raise OSError(28, "No space left on device")
        self.writes.append((path, threading.current_thread().name))
        super().write_file_atomically(path, data, sync=sync)


def topic(name: str, partitions: int = 1) -> TopicMetadata:
    return TopicMetadata(name, new_topic_id(), [[0]] * partitions)


def names_in(path: Path) -> list[str]:
    return [t["name"] for t in json.loads(path.read_text())["topics"]]


def test_saves_run_in_a_worker_and_keep_the_previous_copy(tmp_path: Path) -> None:
    fs = RecordingFs()
    store = TopicStore(str(tmp_path), fs)
    store.load()

    async def scenario() -> None:
        store.add(topic("a"))
        await store.save()
        store.add(topic("b"))
        await asyncio.gather(store.save(), store.save())  # one write covers both

    asyncio.run(scenario())
    main = tmp_path / METADATA_FILE
    assert names_in(main) == ["a", "b"]
    assert names_in(tmp_path / (METADATA_FILE + ".prev")) == ["a"]
    assert [p for p, _ in fs.writes] == [str(main), str(main) + ".prev", str(main)]
    assert all(thread != threading.main_thread().name for _, thread in fs.writes)


def test_a_failed_save_keeps_the_change_for_the_next_one(tmp_path: Path) -> None:
    fs = RecordingFs()
    store = TopicStore(str(tmp_path), fs)

    async def scenario() -> None:
        fs.failing = True
        store.add(topic("a"))
        with pytest.raises(OSError):
            await store.save()
        assert "a" in store.topics
        fs.failing = False
        await store.save()

    asyncio.run(scenario())
    assert names_in(tmp_path / METADATA_FILE) == ["a"]


def test_load_falls_back_to_the_previous_copy(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = TopicStore(str(tmp_path))

    async def scenario() -> None:
        store.add(topic("a", 3))
        await store.save()
        store.add(topic("b"))
        await store.save()

    asyncio.run(scenario())
    (tmp_path / METADATA_FILE).write_bytes(b'{"version": 1, "topics": [{"name"')
    again = TopicStore(str(tmp_path))
    again.load()
    assert list(again.topics) == ["a"] and again.topics["a"].partitions == 3
    assert "previous good copy" in caplog.text

    (tmp_path / (METADATA_FILE + ".prev")).write_bytes(b"\xff\xfe")
    with pytest.raises(MetadataLoadError, match="and so is its previous copy"):
        TopicStore(str(tmp_path)).load()


def test_a_deletion_that_fails_on_disk_is_not_published(tmp_path: Path) -> None:
    """The embedded controller renames a topic's partition dirs before it publishes the deletion: a
    failed rename leaves the topic whole in the store, in the metadata cache and on disk."""

    class FailingRename(FileSystem):
        def rename(self, src: str, dst: str) -> None:
            if src.endswith("doomed-1"):
                raise OSError(5, "Input/output error")
            super().rename(src, dst)

    async def scenario() -> None:
        logs = str(tmp_path / "logs")
        config = BrokerConfig.from_properties({"log.dirs": logs})
        log_manager = LogManager([logs], fs=FailingRename())
        log_manager.startup()
        store = TopicStore(logs)
        cache = MetadataCache(0, "cluster")
        controller = EmbeddedController(0, config, store, ReplicaManager(0, config, log_manager), cache)
        controller.start()
        replicas = controller.check_new_topic("doomed", 3, 1, None)
        await controller.create_topic("doomed", replicas, {})
        with pytest.raises(ControllerError) as caught:
            await controller.delete_topic("doomed")
        assert caught.value.code == ErrorCode.KAFKA_STORAGE_ERROR
        assert cache.num_partitions("doomed") == 3 and "doomed" in store.topics
        assert sorted(n for n in os.listdir(logs) if n.startswith("doomed")) == ["doomed-0", "doomed-1", "doomed-2"]
        assert all(log_manager.get_log("doomed", p) is not None for p in range(3))
        log_manager.shutdown()

    asyncio.run(scenario())

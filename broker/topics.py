"""The cluster's topic metadata in embedded mode: names, ids, partitions, replicas and config overrides.

A single broker with no ZooKeeper is its own controller, and keeps this metadata in its first log dir,
in ``kafkish-metadata.json``, rewritten whole after every change with write-temp-then-rename (and
fsync) in a worker thread, so a restart, clean or not, brings every topic back; the previous version
is kept beside it (``.prev``) for when the file is damaged. Partition data stays in Kafka's own layout.
This is the embedded controller's store: handlers read the metadata cache, never this.

Not thread-safe: the broker's event loop owns it (the worker thread only writes bytes encoded on the loop).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from storage.errors import StorageError
from storage.fs import REAL_FS, FileSystem

log = logging.getLogger(__name__)

METADATA_FILE = "kafkish-metadata.json"
PREVIOUS_SUFFIX = ".prev"
MAX_TOPIC_NAME_LENGTH = 249
_LEGAL = re.compile(r"^[a-zA-Z0-9._-]+$")
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})


class InvalidTopic(ValueError):
    """A topic name Kafka would refuse (INVALID_TOPIC_EXCEPTION)."""


def validate_topic_name(name: str | None) -> str:
    """Kafka's rules: 1-249 characters of [a-zA-Z0-9._-], and not "." or ".."."""
    if not name:
        raise InvalidTopic("Topic name is illegal, it can't be empty")
    if name in (".", ".."):
        raise InvalidTopic('Topic name cannot be "." or ".."')
    if len(name) > MAX_TOPIC_NAME_LENGTH:
        raise InvalidTopic(f"Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters")
    if not _LEGAL.match(name):
        raise InvalidTopic(
            f'Topic name "{name}" is illegal, it contains a character other than ASCII alphanumerics, '
            "'.', '_' and '-'"
        )
    return name


def new_topic_id() -> bytes:
    """A random topic id that is neither Kafka's zero id nor its reserved metadata id, nor starts with '-'."""
    while True:
        raw = uuid.uuid4().bytes
        # Kafka avoids ids whose base64 form starts with '-', so they can be passed on command lines.
        if raw != bytes(16) and raw[0] >> 2 != 62:
            return raw


@dataclass(slots=True)
class TopicMetadata:
    name: str
    topic_id: bytes
    replicas: list[list[int]]  # per partition, the replica node ids; the first is the preferred leader
    configs: dict[str, Any] = field(default_factory=dict)  # topic-level overrides, typed
    leader_epochs: list[int] = field(default_factory=list)

    @property
    def partitions(self) -> int:
        return len(self.replicas)

    @property
    def internal(self) -> bool:
        return self.name in INTERNAL_TOPICS

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "topic_id": self.topic_id.hex(),
            "replicas": self.replicas,
            "configs": self.configs,
            "leader_epochs": self.leader_epochs,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TopicMetadata:
        replicas = [list(map(int, r)) for r in data["replicas"]]
        epochs = list(map(int, data.get("leader_epochs") or [0] * len(replicas)))
        return cls(str(data["name"]), bytes.fromhex(data["topic_id"]), replicas, dict(data.get("configs", {})), epochs)


class MetadataLoadError(StorageError):
    """Neither ``kafkish-metadata.json`` nor its previous good copy can be read: the broker cannot start."""


class TopicStore:
    """Topic metadata in memory, saved whole after every change.

    Mutations (``add``, ``remove``, ``add_partitions``, ``set_configs``) change memory in one step and
    never block; ``save`` (awaited after a change) writes the state of that moment in a worker thread
    through the filesystem seam (write-temp-then-rename, fsync), one write at a time, skipping writes
    another save already covered. Before each write the previous contents are kept as
    ``kafkish-metadata.json.prev``: ``load`` falls back to it, with a WARN, when the file is damaged.
    """

    def __init__(self, directory: str, fs: FileSystem = REAL_FS) -> None:
        self.path = os.path.join(directory, METADATA_FILE)
        self.previous_path = self.path + PREVIOUS_SUFFIX
        self.topics: dict[str, TopicMetadata] = {}
        self.by_id: dict[bytes, TopicMetadata] = {}
        self._fs = fs
        self._changes = 0  # changes made in memory
        self._saved = 0  # changes on disk
        self._last_saved: bytes | None = None  # the file's contents, kept as the previous copy on the next save
        self._writing: asyncio.Lock | None = None

    def load(self) -> None:
        """Read the metadata (blocking: start-up only). Raises MetadataLoadError."""
        try:
            data, raw = self._read(self.path)
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            try:
                data, raw = self._read(self.previous_path)
            except FileNotFoundError:
                raise MetadataLoadError(
                    f"{self.path} is damaged ({_describe(exc)}) and there is no previous copy "
                    f"({self.previous_path}); restore one of them, or move the file away to start with no topics"
                ) from None
            except (OSError, ValueError, KeyError, TypeError) as again:
                raise MetadataLoadError(
                    f"{self.path} is damaged ({_describe(exc)}), and so is its previous copy "
                    f"{self.previous_path} ({_describe(again)})"
                ) from None
            log.warning(
                "%s is damaged (%s); starting from its previous good copy %s (the last metadata change may be "
                "lost)", self.path, _describe(exc), self.previous_path,
            )  # fmt: skip
        self._last_saved = raw
        for topic in data:
            self.topics[topic.name] = topic
            self.by_id[topic.topic_id] = topic

    @staticmethod
    def _read(path: str) -> tuple[list[TopicMetadata], bytes]:
        with open(path, "rb") as f:
            raw = f.read()
        data = json.loads(raw.decode("utf-8"))
        return [TopicMetadata.from_json(item) for item in data["topics"]], raw

    def _encode(self) -> bytes:
        data = {"version": 1, "topics": [t.to_json() for t in self.topics.values()]}
        return json.dumps(data, indent=1, sort_keys=True).encode()

    async def save(self) -> None:
        """Persist every change made so far (the write runs in a worker thread). Raises OSError if
        it fails; the changes stay in memory and the next save writes them."""
        if self._writing is None:
            self._writing = asyncio.Lock()
        wanted = self._changes
        async with self._writing:
            if self._saved >= wanted:
                return  # a save that started after our change has written it
            changes, data = self._changes, self._encode()
            await asyncio.to_thread(self._write, data, self._last_saved)
            self._saved, self._last_saved = changes, data

    def _write(self, data: bytes, previous: bytes | None) -> None:
        if previous is not None:
            self._fs.write_file_atomically(self.previous_path, previous)
        self._fs.write_file_atomically(self.path, data)

    def get(self, name: str) -> TopicMetadata | None:
        return self.topics.get(name)

    def add(self, topic: TopicMetadata) -> None:
        if not topic.leader_epochs:
            topic.leader_epochs = [0] * topic.partitions
        self.topics[topic.name] = topic
        self.by_id[topic.topic_id] = topic
        self._changes += 1

    def remove(self, name: str) -> TopicMetadata | None:
        topic = self.topics.pop(name, None)
        if topic is not None:
            self.by_id.pop(topic.topic_id, None)
            self._changes += 1
        return topic

    def add_partitions(self, name: str, replicas: list[list[int]]) -> None:
        topic = self.topics[name]
        topic.replicas.extend(replicas)
        topic.leader_epochs.extend([0] * len(replicas))
        self._changes += 1

    def set_configs(self, name: str, configs: dict[str, Any]) -> None:
        self.topics[name].configs = dict(configs)
        self._changes += 1


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    return f"{type(exc).__name__}: {exc}"

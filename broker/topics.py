"""The cluster's topic metadata in embedded mode: names, ids, partitions, replicas and config overrides.

A single broker with no ZooKeeper is its own controller, and keeps this metadata in its first log dir,
in ``kafkish-metadata.json``, rewritten whole on every change with write-temp-then-rename (and fsync),
so a restart, clean or not, brings every topic back. Partition data stays in Kafka's own layout.

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

METADATA_FILE = "kafkish-metadata.json"
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


class TopicStore:
    """Topic metadata, persisted on every change."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, METADATA_FILE)
        self.topics: dict[str, TopicMetadata] = {}
        self.by_id: dict[bytes, TopicMetadata] = {}

    def load(self) -> None:
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return
        for item in data.get("topics", []):
            topic = TopicMetadata.from_json(item)
            self.topics[topic.name] = topic
            self.by_id[topic.topic_id] = topic

    def save(self) -> None:
        data = {"version": 1, "topics": [t.to_json() for t in self.topics.values()]}
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(os.path.dirname(self.path) or ".", os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def get(self, name: str) -> TopicMetadata | None:
        return self.topics.get(name)

    def add(self, topic: TopicMetadata) -> None:
        if not topic.leader_epochs:
            topic.leader_epochs = [0] * topic.partitions
        self.topics[topic.name] = topic
        self.by_id[topic.topic_id] = topic
        self.save()

    def remove(self, name: str) -> TopicMetadata | None:
        topic = self.topics.pop(name, None)
        if topic is not None:
            self.by_id.pop(topic.topic_id, None)
            self.save()
        return topic

    def add_partitions(self, name: str, replicas: list[list[int]]) -> None:
        topic = self.topics[name]
        topic.replicas.extend(replicas)
        topic.leader_epochs.extend([0] * len(replicas))
        self.save()

    def set_configs(self, name: str, configs: dict[str, Any]) -> None:
        self.topics[name].configs = dict(configs)
        self.save()

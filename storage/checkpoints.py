"""Kafka's small text files: offset checkpoints, the leader epoch checkpoint, partition.metadata and
meta.properties. All are written with write-temp-then-rename plus fsync (``FileSystem``), so a crash
leaves the old file or the new one, never a mix.

Formats (exactly Kafka's):
- offset checkpoints (``recovery-point-offset-checkpoint``, ``log-start-offset-checkpoint``,
  ``replication-offset-checkpoint``, ``cleaner-offset-checkpoint``)::

      0
      <count>
      <topic> <partition> <offset>

- ``leader-epoch-checkpoint``: ``0``, ``<count>``, then ``<epoch> <start offset>`` lines;
- ``partition.metadata``: ``version: 0`` and ``topic_id: <base64url uuid, no padding>``;
- ``meta.properties``: java properties, ``version=1``, ``node.id=``, ``cluster.id=`` (``broker.id`` is
  also written, and read, for ZooKeeper-era tools).
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass

from storage.errors import StorageError
from storage.fs import FileSystem

RECOVERY_POINT_CHECKPOINT = "recovery-point-offset-checkpoint"
LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint"
REPLICATION_OFFSET_CHECKPOINT = "replication-offset-checkpoint"
CLEANER_OFFSET_CHECKPOINT = "cleaner-offset-checkpoint"
LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint"
PARTITION_METADATA = "partition.metadata"
META_PROPERTIES = "meta.properties"


class CheckpointError(StorageError):
    """A checkpoint file exists but is malformed (the disk's or an operator's fault, not a client's)."""


def _read_versioned_lines(path: str, fields: int) -> list[list[str]]:
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    try:
        if lines[0].strip() != "0":
            raise CheckpointError(f"{path}: unsupported version {lines[0]!r}")
        count = int(lines[1])
        rows = [line.split() for line in lines[2 : 2 + count]]
    except (IndexError, ValueError) as e:
        raise CheckpointError(f"{path}: malformed header: {e}") from None
    if len(rows) != count or any(len(r) != fields for r in rows):
        raise CheckpointError(f"{path}: expected {count} lines of {fields} fields")
    return rows


def write_offset_checkpoint(fs: FileSystem, path: str, offsets: dict[tuple[str, int], int]) -> None:
    lines = ["0", str(len(offsets))]
    lines += [f"{topic} {partition} {offset}" for (topic, partition), offset in sorted(offsets.items())]
    fs.write_file_atomically(path, ("\n".join(lines) + "\n").encode())


def read_offset_checkpoint(path: str) -> dict[tuple[str, int], int]:
    """The offsets of a checkpoint file; {} if there is none."""
    if not os.path.exists(path):
        return {}
    out: dict[tuple[str, int], int] = {}
    try:
        for topic, partition, offset in _read_versioned_lines(path, 3):
            out[(topic, int(partition))] = int(offset)
    except ValueError as e:
        raise CheckpointError(f"{path}: {e}") from None
    return out


def epoch_checkpoint_bytes(entries: list[tuple[int, int]]) -> bytes:
    """Kafka's leader-epoch-checkpoint: version 0, the count, then "epoch start_offset" lines."""
    lines = ["0", str(len(entries))] + [f"{epoch} {offset}" for epoch, offset in entries]
    return ("\n".join(lines) + "\n").encode()


def write_epoch_checkpoint(fs: FileSystem, path: str, entries: list[tuple[int, int]]) -> None:
    fs.write_file_atomically(path, epoch_checkpoint_bytes(entries))


def read_epoch_checkpoint(path: str) -> list[tuple[int, int]]:
    if not os.path.exists(path):
        return []
    try:
        return [(int(e), int(o)) for e, o in _read_versioned_lines(path, 2)]
    except ValueError as e:
        raise CheckpointError(f"{path}: {e}") from None


def topic_id_to_str(topic_id: uuid.UUID) -> str:
    """Kafka's Uuid.toString: URL-safe base64 of the 16 bytes, without padding."""
    return base64.urlsafe_b64encode(topic_id.bytes).decode().rstrip("=")


def topic_id_from_str(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError as e:
        raise CheckpointError(f"bad topic id {text!r}: {e}") from None


def partition_metadata_bytes(topic_id: uuid.UUID) -> bytes:
    """Kafka's partition.metadata: "version: 0" and the topic id in Kafka's base64 form."""
    return f"version: 0\ntopic_id: {topic_id_to_str(topic_id)}\n".encode()


def write_partition_metadata(fs: FileSystem, path: str, topic_id: uuid.UUID) -> None:
    fs.write_file_atomically(path, partition_metadata_bytes(topic_id))


def read_partition_metadata(path: str) -> uuid.UUID | None:
    if not os.path.exists(path):
        return None
    fields: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
    if fields.get("version") != "0" or "topic_id" not in fields:
        raise CheckpointError(f"{path}: expected 'version: 0' and 'topic_id:' lines")
    return topic_id_from_str(fields["topic_id"])


@dataclass(frozen=True, slots=True)
class MetaProperties:
    cluster_id: str
    node_id: int
    version: int = 1


def write_meta_properties(fs: FileSystem, log_dir: str, meta: MetaProperties) -> None:
    text = (
        f"#\nversion={meta.version}\nnode.id={meta.node_id}\nbroker.id={meta.node_id}\ncluster.id={meta.cluster_id}\n"
    )
    fs.write_file_atomically(os.path.join(log_dir, META_PROPERTIES), text.encode())


def read_meta_properties(log_dir: str) -> MetaProperties | None:
    path = os.path.join(log_dir, META_PROPERTIES)
    if not os.path.exists(path):
        return None
    props: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            line = line.strip()
            if not line or line.startswith(("#", "!")):
                continue
            key, _, value = line.partition("=")
            props[key.strip()] = value.strip()
    try:
        node = props.get("node.id", props.get("broker.id"))
        if node is None or "cluster.id" not in props:
            raise CheckpointError(f"{path}: needs cluster.id and node.id (or broker.id)")
        return MetaProperties(props["cluster.id"], int(node), int(props.get("version", "0")))
    except ValueError as e:
        raise CheckpointError(f"{path}: {e}") from None

"""The records a group coordinator writes to ``__consumer_offsets``, in Kafka's own key/value schemas.

Every record's key and value start with an int16 version. The key's version says what the record is:

- key v0/v1 ``OffsetCommitKey`` (group, topic, partition) -> value ``OffsetCommitValue`` v0-4
  (offset, leader epoch v3+, metadata, commit timestamp, expire timestamp v1 only; flexible v4+);
- key v2 ``GroupMetadataKey`` (group) -> value ``GroupMetadataValue`` v0-4 (protocol type, generation,
  protocol, leader, current state timestamp v2+, members with instance id v3+ and rebalance timeout
  v1+; flexible v4+);
- key v3 ``ConsumerGroupMetadataKey`` (group) -> value ``ConsumerGroupMetadataValue`` v0 (the group
  epoch of a KIP-848 consumer group; flexible, its tagged fields skipped). Kafka's other consumer
  group records (keys v4-8: members, subscription metadata, target and current assignments) are
  not written here: members rejoin after a restart (see ``consumer/manager.py``).

A null value is a tombstone: the offset, or the whole group, is deleted (compaction drops it later).
We write offset values v3 (v1 when the commit carries an expire timestamp, as Kafka does) and group
values v3, and read every version Kafka ever wrote. Records we cannot read are the log's fault, and
raise ``BadGroupRecord``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, TypeVar

from broker.coordinator import serde
from protocol.schema import Bytes, Int32, Int64, String, Struct, V, VersionRange, struct

K = TypeVar("K", bound=Struct)
S = TypeVar("S", bound=Struct)

OFFSET_COMMIT_KEY_VERSION = 1
GROUP_METADATA_KEY_VERSION = 2
OFFSET_VALUE_VERSION = 3
OFFSET_VALUE_WITH_EXPIRY_VERSION = 1
GROUP_VALUE_VERSION = 3
CONSUMER_GROUP_METADATA_KEY_VERSION = 3
CONSUMER_GROUP_METADATA_VALUE_VERSION = 0


class BadGroupRecord(ValueError):
    """A record of ``__consumer_offsets`` that is not a valid offset or group record."""


@struct
class OffsetCommitKey(Struct):
    group: String = ""
    topic: String = ""
    partition: Int32 = 0


@struct
class OffsetCommitValue(Struct):
    offset: Int64 = 0
    leader_epoch: Annotated[Int32, V("3+")] = -1
    metadata: String = ""
    commit_timestamp: Int64 = 0
    expire_timestamp: Annotated[Int64, V("1")] = -1


@struct
class GroupMetadataKey(Struct):
    group: String = ""


@struct
class MemberMetadataValue(Struct):
    member_id: String = ""
    group_instance_id: Annotated[String | None, V("3+")] = None
    client_id: String = ""
    client_host: String = ""
    rebalance_timeout: Annotated[Int32, V("1+")] = 0
    session_timeout: Int32 = 0
    subscription: Bytes = b""
    assignment: Bytes = b""


@struct
class GroupMetadataValue(Struct):
    protocol_type: String = ""
    generation: Int32 = 0
    protocol: String | None = None
    leader: String | None = None
    current_state_timestamp: Annotated[Int64, V("2+")] = -1
    members: list[MemberMetadataValue] = []


@struct
class ConsumerGroupMetadataKey(Struct):
    group: String = ""


@struct
class ConsumerGroupMetadataValue(Struct):
    epoch: Int32 = 0


serde.declare(
    [
        (ConsumerGroupMetadataKey, VersionRange(3, 3), None),
        (ConsumerGroupMetadataValue, VersionRange(0, 0), VersionRange(0, None)),
        (OffsetCommitKey, VersionRange(0, 1), None),
        (GroupMetadataKey, VersionRange(2, 2), None),
        (OffsetCommitValue, VersionRange(0, 4), VersionRange(4, None)),
        (GroupMetadataValue, VersionRange(0, 4), VersionRange(4, None)),
    ]
)


def offset_key(group: str, topic: str, partition: int) -> bytes:
    return serde.encode(OffsetCommitKey(group=group, topic=topic, partition=partition), OFFSET_COMMIT_KEY_VERSION)


def group_key(group: str) -> bytes:
    return serde.encode(GroupMetadataKey(group=group), GROUP_METADATA_KEY_VERSION)


def offset_value(value: OffsetCommitValue) -> bytes:
    version = OFFSET_VALUE_WITH_EXPIRY_VERSION if value.expire_timestamp >= 0 else OFFSET_VALUE_VERSION
    return serde.encode(value, version)


def group_value(value: GroupMetadataValue) -> bytes:
    return serde.encode(value, GROUP_VALUE_VERSION)


def consumer_group_key(group: str) -> bytes:
    return serde.encode(ConsumerGroupMetadataKey(group=group), CONSUMER_GROUP_METADATA_KEY_VERSION)


def consumer_group_value(epoch: int) -> bytes:
    return serde.encode(ConsumerGroupMetadataValue(epoch=epoch), CONSUMER_GROUP_METADATA_VALUE_VERSION)


@dataclass(frozen=True, slots=True)
class OffsetRecord:
    key: OffsetCommitKey
    value: OffsetCommitValue | None  # None: a tombstone


@dataclass(frozen=True, slots=True)
class GroupRecord:
    key: GroupMetadataKey
    value: GroupMetadataValue | None  # None: a tombstone


@dataclass(frozen=True, slots=True)
class ConsumerGroupRecord:
    key: ConsumerGroupMetadataKey
    value: ConsumerGroupMetadataValue | None  # None: a tombstone


@dataclass(frozen=True, slots=True)
class TxnOffsetRecord:
    """An offset record of a producer's transactional batch: pending until its transaction ends."""

    producer_id: int
    record: OffsetRecord


@dataclass(frozen=True, slots=True)
class TxnMarker:
    """A transaction marker read back from ``__consumer_offsets``."""

    producer_id: int
    commit: bool


AnyRecord = OffsetRecord | GroupRecord | ConsumerGroupRecord | TxnOffsetRecord | TxnMarker


def _decode(key_cls: type[K], value_cls: type[S], key: bytes, value: bytes | None, what: str) -> tuple[K, S | None]:
    return serde.decode_record(key_cls, value_cls, key, value, what, BadGroupRecord)


def parse(key: bytes | None, value: bytes | None) -> AnyRecord:
    """One record of ``__consumer_offsets``; raises ``BadGroupRecord`` for anything else."""
    version = None if key is None else serde.version_of(key)
    if key is None or version is None:
        raise BadGroupRecord("record without a versioned key")
    if version in (0, 1):
        return OffsetRecord(*_decode(OffsetCommitKey, OffsetCommitValue, key, value, "offset commit"))
    if version == 2:
        return GroupRecord(*_decode(GroupMetadataKey, GroupMetadataValue, key, value, "group metadata"))
    if version == CONSUMER_GROUP_METADATA_KEY_VERSION:
        schemas = ConsumerGroupMetadataKey, ConsumerGroupMetadataValue
        return ConsumerGroupRecord(*_decode(*schemas, key, value, "consumer group metadata"))
    raise BadGroupRecord(f"unknown key version {version}")


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode``: s[0]*31^(n-1) + ... over UTF-16 code units, as a signed int32."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def partition_for(group_id: str, partitions: int) -> int:
    """Kafka's ``Utils.abs(groupId.hashCode) % partitions`` (``Utils.abs(MIN_VALUE)`` is 0)."""
    h = java_string_hash(group_id)
    return (0 if h == -(1 << 31) else abs(h)) % partitions

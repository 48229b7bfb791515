"""The "consumer" protocol's payloads: ConsumerProtocolSubscription and ConsumerProtocolAssignment.

Not APIs (no key, not loaded by ``load_all``): they are the opaque bytes a classic group carries for
protocol type "consumer". A member's subscription is its JoinGroup protocol metadata; its assignment is
what the leader hands it through SyncGroup. Each is written as an int16 version, then the struct at
that version (versions 0-3, never flexible).

Kafka's rule for versions: later versions only append fields, so a version newer than we know is read
as the newest we know and whatever follows our fields is ignored; encoding at a newer version writes
the newest we know. Bytes after the fields of a known version are ignored too, as Kafka does.
"""

from __future__ import annotations

import struct as _struct
from typing import Annotated

from protocol import codec
from protocol.exceptions import DecodeError
from protocol.schema import Bytes, Int32, String, Struct, V, VersionRange, struct

SUBSCRIPTION_VERSION = 3  # the newest ConsumerProtocolSubscription version we know
ASSIGNMENT_VERSION = 3  # the newest ConsumerProtocolAssignment version we know


@struct
class TopicPartition(Struct):
    topic: String = ""
    partitions: list[Int32] = []


@struct
class ConsumerProtocolSubscription(Struct):
    topics: list[String] = []
    user_data: Bytes | None = None  # the assignor's own data, opaque to the broker
    owned_partitions: Annotated[list[TopicPartition], V("1+")] = []
    generation_id: Annotated[Int32, V("2+")] = -1
    rack_id: Annotated[String | None, V("3+")] = None


# Versions 1-3 of the assignment add nothing: they follow the subscription's version.
@struct
class ConsumerProtocolAssignment(Struct):
    assigned_partitions: list[TopicPartition] = []
    user_data: Bytes | None = None


for _cls, _newest in (
    (ConsumerProtocolSubscription, SUBSCRIPTION_VERSION),
    (ConsumerProtocolAssignment, ASSIGNMENT_VERSION),
):
    _cls.__kafka_versions__ = VersionRange(0, _newest)
    _cls.__kafka_flexible__ = None
    _cls.__kafka_name__ = _cls.__name__

_VERSION = _struct.Struct(">h")


def _read_version(data: bytes | bytearray | memoryview, name: str) -> int:
    if len(data) < _VERSION.size:
        raise DecodeError(f"needs a 2-byte version, got {len(data)} bytes", message=name, field="version", offset=0)
    (version,) = _VERSION.unpack_from(data, 0)
    if version < 0:
        raise DecodeError(f"unsupported version {version}", message=name, field="version", offset=0)
    return int(version)


def decode_subscription(data: bytes | bytearray | memoryview) -> tuple[int, ConsumerProtocolSubscription]:
    """The version written in ``data`` and the subscription, read at ``min(version, SUBSCRIPTION_VERSION)``.

    Raises ``DecodeError`` (the sending member's fault) for a negative version or bytes too short.
    """
    version = _read_version(data, "ConsumerProtocolSubscription")
    subscription, _ = codec.decode(ConsumerProtocolSubscription, data, min(version, SUBSCRIPTION_VERSION), 2)
    return version, subscription


def encode_subscription(subscription: ConsumerProtocolSubscription, version: int = SUBSCRIPTION_VERSION) -> bytes:
    """The version-prefixed bytes of ``subscription``; a version newer than we know writes the newest."""
    return _encode(subscription, min(version, SUBSCRIPTION_VERSION))


def decode_assignment(data: bytes | bytearray | memoryview) -> tuple[int, ConsumerProtocolAssignment]:
    """The version written in ``data`` and the assignment, read at ``min(version, ASSIGNMENT_VERSION)``.

    Raises ``DecodeError`` (the group leader's fault) for a negative version or bytes too short; an empty
    assignment (what the coordinator sends a member the leader gave nothing) is too short.
    """
    version = _read_version(data, "ConsumerProtocolAssignment")
    assignment, _ = codec.decode(ConsumerProtocolAssignment, data, min(version, ASSIGNMENT_VERSION), 2)
    return version, assignment


def encode_assignment(assignment: ConsumerProtocolAssignment, version: int = ASSIGNMENT_VERSION) -> bytes:
    """The version-prefixed bytes of ``assignment``; a version newer than we know writes the newest."""
    return _encode(assignment, min(version, ASSIGNMENT_VERSION))


def _encode(message: Struct, version: int) -> bytes:
    # A negative version is the caller's mistake: codec raises UnsupportedVersion for it.
    type(message).check_version(version)
    out = bytearray(_VERSION.pack(version))
    codec.encode_into(out, message, version)
    return bytes(out)

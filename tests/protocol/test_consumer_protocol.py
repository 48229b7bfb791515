"""The "consumer" protocol's subscription and assignment bytes, as JoinGroup and SyncGroup carry them."""

from __future__ import annotations

import struct

import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment, ConsumerProtocolMemberMetadata
from hypothesis import given
from hypothesis import strategies as st

from protocol import codec
from protocol.exceptions import DecodeError, UnsupportedVersion
from protocol.messages._consumer_protocol import (
    ASSIGNMENT_VERSION,
    SUBSCRIPTION_VERSION,
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
    TopicPartition,
    decode_assignment,
    decode_subscription,
    encode_assignment,
    encode_subscription,
)


def _string(text: str | None) -> bytes:
    if text is None:
        return struct.pack(">h", -1)
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def _bytes(data: bytes | None) -> bytes:
    return struct.pack(">i", -1) if data is None else struct.pack(">i", len(data)) + data


def _topic_partitions(items: list[tuple[str, list[int]]]) -> bytes:
    out = struct.pack(">i", len(items))
    for topic, partitions in items:
        out += _string(topic) + struct.pack(f">i{len(partitions)}i", len(partitions), *partitions)
    return out


# Version 3 of a subscription, laid out by hand field by field.
V3_SUBSCRIPTION = (
    struct.pack(">h", 3)
    + struct.pack(">i", 2)
    + _string("orders")
    + _string("payments")
    + _bytes(b"\x00\x01sticky")
    + _topic_partitions([("orders", [0, 2]), ("payments", [5])])
    + struct.pack(">i", 17)
    + _string("rack-b")
)
V3_EXPECTED = ConsumerProtocolSubscription(
    topics=["orders", "payments"],
    user_data=b"\x00\x01sticky",
    owned_partitions=[
        TopicPartition(topic="orders", partitions=[0, 2]),
        TopicPartition(topic="payments", partitions=[5]),
    ],
    generation_id=17,
    rack_id="rack-b",
)


def test_hand_laid_v3_subscription_decodes_and_encodes_back() -> None:
    assert decode_subscription(V3_SUBSCRIPTION) == (3, V3_EXPECTED)
    assert encode_subscription(V3_EXPECTED, 3) == V3_SUBSCRIPTION
    assert encode_subscription(V3_EXPECTED) == V3_SUBSCRIPTION  # the newest version by default


def test_v0_subscription_has_no_owned_partitions_generation_or_rack() -> None:
    data = struct.pack(">h", 0) + struct.pack(">i", 1) + _string("t") + _bytes(None)
    version, subscription = decode_subscription(data)
    assert version == 0
    assert subscription == ConsumerProtocolSubscription(topics=["t"], user_data=None)
    assert subscription.generation_id == -1 and subscription.rack_id is None
    # Writing at v0 drops what v0 cannot carry.
    v0 = struct.pack(">hi", 0, 2) + _string("orders") + _string("payments") + _bytes(b"\x00\x01sticky")
    assert encode_subscription(V3_EXPECTED, 0) == v0


def test_newer_subscription_version_is_read_as_the_newest_known() -> None:
    # A future version 5 that appends a field: we read the fields we know and report the version sent.
    future = struct.pack(">h", 5) + V3_SUBSCRIPTION[2:] + struct.pack(">iq", 99, 12345)
    assert decode_subscription(future) == (5, V3_EXPECTED)


def test_encoding_at_a_newer_version_writes_the_newest_known() -> None:
    data = encode_subscription(V3_EXPECTED, 9)
    assert data[:2] == struct.pack(">h", SUBSCRIPTION_VERSION)
    assert data == V3_SUBSCRIPTION
    assert encode_assignment(ConsumerProtocolAssignment(), 9)[:2] == struct.pack(">h", ASSIGNMENT_VERSION)


def test_assignment_bytes_every_version() -> None:
    assignment = ConsumerProtocolAssignment(
        assigned_partitions=[TopicPartition(topic="orders", partitions=[1, 3])], user_data=None
    )
    for version in range(ASSIGNMENT_VERSION + 1):
        expected = struct.pack(">h", version) + _topic_partitions([("orders", [1, 3])]) + _bytes(None)
        assert encode_assignment(assignment, version) == expected
        assert decode_assignment(expected) == (version, assignment)


def test_same_bytes_as_aiokafka_v0() -> None:
    # aiokafka writes version 0 of both payloads with its own, independent code.
    theirs = ConsumerProtocolMemberMetadata(0, ["a", "b-topic"], b"ud").encode()
    version, subscription = decode_subscription(theirs)
    assert version == 0 and subscription.topics == ["a", "b-topic"] and subscription.user_data == b"ud"
    assert encode_subscription(subscription, 0) == theirs

    theirs = ConsumerProtocolMemberAssignment(0, [("a", [0, 1]), ("b-topic", [7])], b"").encode()
    version, assignment = decode_assignment(theirs)
    assert version == 0
    assert assignment.assigned_partitions == [
        TopicPartition(topic="a", partitions=[0, 1]),
        TopicPartition(topic="b-topic", partitions=[7]),
    ]
    assert assignment.user_data == b""
    assert encode_assignment(assignment, 0) == theirs


def test_codec_works_on_the_bare_structs() -> None:
    assert codec.encode(V3_EXPECTED, 3) == V3_SUBSCRIPTION[2:]
    assert codec.decode(ConsumerProtocolSubscription, V3_SUBSCRIPTION, 3, 2) == (V3_EXPECTED, len(V3_SUBSCRIPTION))
    with pytest.raises(UnsupportedVersion):
        codec.encode(V3_EXPECTED, 4)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "needs a 2-byte version"),
        (b"\x00", "needs a 2-byte version"),
        (struct.pack(">h", -1), "unsupported version -1"),
    ],
)
def test_bad_version_is_the_senders_fault(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as subscription_error:
        decode_subscription(data)
    assert subscription_error.value.message == "ConsumerProtocolSubscription"
    with pytest.raises(DecodeError, match=reason) as assignment_error:
        decode_assignment(data)
    assert assignment_error.value.message == "ConsumerProtocolAssignment"


def test_truncated_subscription_says_where() -> None:
    cut = V3_SUBSCRIPTION[:-3]  # inside the rack id
    with pytest.raises(DecodeError) as error:
        decode_subscription(cut)
    assert "ConsumerProtocolSubscription" in str(error.value)
    assert error.value.field == "rack_id"


def test_negative_version_cannot_be_written() -> None:
    with pytest.raises(UnsupportedVersion):
        encode_subscription(V3_EXPECTED, -1)


_names = st.text(max_size=20)
_partitions = st.lists(st.integers(-(2**31), 2**31 - 1), max_size=5)
_topic_partition = st.builds(TopicPartition, topic=_names, partitions=_partitions)
_user_data = st.none() | st.binary(max_size=40)


@given(
    version=st.integers(0, SUBSCRIPTION_VERSION),
    topics=st.lists(_names, max_size=4),
    user_data=_user_data,
    owned=st.lists(_topic_partition, max_size=3),
    generation_id=st.integers(-(2**31), 2**31 - 1),
    rack_id=st.none() | _names,
)
def test_subscription_round_trips_at_every_version(
    version: int,
    topics: list[str],
    user_data: bytes | None,
    owned: list[TopicPartition],
    generation_id: int,
    rack_id: str | None,
) -> None:
    subscription = ConsumerProtocolSubscription(
        topics=topics, user_data=user_data, owned_partitions=owned, generation_id=generation_id, rack_id=rack_id
    )
    decoded_version, decoded = decode_subscription(encode_subscription(subscription, version))
    assert decoded_version == version
    assert decoded.topics == topics and decoded.user_data == user_data
    assert decoded.owned_partitions == (owned if version >= 1 else [])
    assert decoded.generation_id == (generation_id if version >= 2 else -1)
    assert decoded.rack_id == (rack_id if version >= 3 else None)


@given(
    version=st.integers(0, ASSIGNMENT_VERSION),
    assigned=st.lists(_topic_partition, max_size=4),
    user_data=_user_data,
    future=st.integers(ASSIGNMENT_VERSION + 1, 2**15 - 1),
    tail=st.binary(max_size=10),
)
def test_assignment_round_trips_and_tolerates_newer_versions(
    version: int, assigned: list[TopicPartition], user_data: bytes | None, future: int, tail: bytes
) -> None:
    assignment = ConsumerProtocolAssignment(assigned_partitions=assigned, user_data=user_data)
    data = encode_assignment(assignment, version)
    assert decode_assignment(data) == (version, assignment)
    newer = struct.pack(">h", future) + data[2:] + tail
    assert decode_assignment(newer) == (future, assignment)

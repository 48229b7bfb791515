"""Kafka's limit on strings: at most 32,767 bytes, compact or not.

A non-compact string cannot say more (its length is an int16); a compact one can (an unsigned
varint), and Kafka refuses it when it parses the message ("string field ... had invalid length").
Both decoders, compiled and reference, refuse it with the one DecodeError naming the field, and
accept 32,767 bytes, wherever the string sits: a field of a struct in an array, an item of an array of
strings, a tagged field.
"""

from __future__ import annotations

import pytest

from protocol import codec, interpreter
from protocol.exceptions import DecodeError, EncodeError
from protocol.messages.create_topics import CreatableTopicResult, CreateTopicsResponse
from protocol.messages.describe_groups import DescribeGroupsRequest
from protocol.messages.fetch import FetchRequest
from protocol.messages.metadata import MetadataRequest, MetadataRequestTopic
from protocol.schema import MAX_STRING, Struct
from protocol.varint import encode_uvarint

LONGEST = "x" * MAX_STRING


def one_byte_longer(data: bytes) -> bytes:
    """``data`` with its one compact string of MAX_STRING bytes made one byte longer."""
    old = encode_uvarint(MAX_STRING + 1) + LONGEST.encode()
    assert data.count(old) == 1
    return data.replace(old, encode_uvarint(MAX_STRING + 2) + LONGEST.encode() + b"x")


CASES = [
    pytest.param(MetadataRequest(topics=[MetadataRequestTopic(name=LONGEST)]), 9, "topics.0.name", id="struct-field"),
    pytest.param(DescribeGroupsRequest(groups=["g", LONGEST]), 5, "groups.1", id="array-item"),
    pytest.param(FetchRequest(cluster_id=LONGEST), 12, "cluster_id", id="tagged-field"),
]


@pytest.mark.parametrize(("message", "version", "field"), CASES)
def test_a_compact_string_of_32767_bytes_decodes(message: Struct, version: int, field: str) -> None:
    data = codec.encode(message, version)
    for buffer in (data, bytearray(data)):  # the compiled decoder's two variants
        assert codec.decode(type(message), buffer, version) == (message, len(data))
    assert interpreter.decode(type(message), data, version) == (message, len(data))


@pytest.mark.parametrize(("message", "version", "field"), CASES)
def test_a_compact_string_over_32767_bytes_is_refused_by_both_decoders(
    message: Struct, version: int, field: str
) -> None:
    data = one_byte_longer(codec.encode(message, version))
    with pytest.raises(DecodeError) as reference:
        interpreter.decode(type(message), data, version)
    assert reference.value.field == field
    assert "over the limit of 32767 bytes" in reference.value.reason
    for buffer in (data, bytearray(data)):
        with pytest.raises(DecodeError) as compiled:
            codec.decode(type(message), buffer, version)
        assert str(compiled.value) == str(reference.value)  # the fast path refused it too: same error


def test_no_string_over_32767_bytes_can_be_encoded_but_an_error_message() -> None:
    for version in (1, 9):  # non-compact and compact
        for encode in (codec.encode, interpreter.encode):
            with pytest.raises(EncodeError, match="too long"):
                encode(MetadataRequest(topics=[MetadataRequestTopic(name=LONGEST + "x")]), version)


@pytest.mark.parametrize("version", [4, 5])  # non-compact and compact
def test_an_error_message_too_long_for_a_string_is_cut_to_fit(version: int) -> None:
    """An error message may quote a client's 32,767-byte name: the answer still goes out, its message
    cut on a character boundary, the same by both encoders."""
    quoted = "é" * MAX_STRING  # two bytes each: the cut falls on a character boundary
    result = CreatableTopicResult(name="t", error_code=37, error_message=f"Invalid topic {quoted}")
    response = CreateTopicsResponse(topics=[result])
    data = codec.encode(response, version)
    assert interpreter.encode(response, version) == data
    decoded, _ = codec.decode(CreateTopicsResponse, data, version)
    message = decoded.topics[0].error_message
    assert message is not None and message.startswith("Invalid topic éé")
    assert len(message.encode()) == MAX_STRING - 1  # 14 ASCII bytes, then whole two-byte characters

"""The message notation's defaults: every message gets values of its own."""

from __future__ import annotations

from protocol.messages.consumer_group_describe import Member, TopicPartitions


def test_struct_valued_defaults_are_not_shared_between_messages() -> None:
    first, second = Member(), Member()
    first.assignment.topic_partitions.append(TopicPartitions(topic_name="t", partitions=[0]))
    assert second.assignment.topic_partitions == []
    assert Member().assignment.topic_partitions == []

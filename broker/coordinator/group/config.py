"""The broker configs the group coordinator reads, resolved once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class _Configs(Protocol):
    def get(self, name: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class GroupConfig:
    min_session_timeout_ms: int = 6000  # group.min.session.timeout.ms
    max_session_timeout_ms: int = 1800000  # group.max.session.timeout.ms
    initial_rebalance_delay_ms: int = 3000  # group.initial.rebalance.delay.ms
    max_size: int = 2**31 - 1  # group.max.size
    offset_metadata_max_bytes: int = 4096  # offset.metadata.max.bytes
    offsets_retention_ms: int = 10080 * 60 * 1000  # offsets.retention.minutes
    offsets_retention_check_interval_ms: int = 600000  # offsets.retention.check.interval.ms
    offsets_topic_partitions: int = 50  # offsets.topic.num.partitions
    offsets_topic_replication_factor: int = 3  # offsets.topic.replication.factor
    offsets_topic_segment_bytes: int = 104857600  # offsets.topic.segment.bytes
    offsets_commit_timeout_ms: int = 5000  # offsets.commit.timeout.ms
    offsets_load_buffer_size: int = 5242880  # offsets.load.buffer.size
    consumer_session_timeout_ms: int = 45000  # group.consumer.session.timeout.ms
    consumer_heartbeat_interval_ms: int = 5000  # group.consumer.heartbeat.interval.ms
    consumer_assignors: tuple[str, ...] = ("uniform", "range")  # group.consumer.assignors

    @classmethod
    def from_broker(cls, config: _Configs) -> GroupConfig:
        return cls(
            min_session_timeout_ms=config.get("group.min.session.timeout.ms"),
            max_session_timeout_ms=config.get("group.max.session.timeout.ms"),
            initial_rebalance_delay_ms=config.get("group.initial.rebalance.delay.ms"),
            max_size=config.get("group.max.size"),
            offset_metadata_max_bytes=config.get("offset.metadata.max.bytes"),
            offsets_retention_ms=config.get("offsets.retention.minutes") * 60 * 1000,
            offsets_retention_check_interval_ms=config.get("offsets.retention.check.interval.ms"),
            offsets_topic_partitions=config.get("offsets.topic.num.partitions"),
            offsets_topic_replication_factor=config.get("offsets.topic.replication.factor"),
            offsets_topic_segment_bytes=config.get("offsets.topic.segment.bytes"),
            offsets_commit_timeout_ms=config.get("offsets.commit.timeout.ms"),
            offsets_load_buffer_size=config.get("offsets.load.buffer.size"),
            consumer_session_timeout_ms=config.get("group.consumer.session.timeout.ms"),
            consumer_heartbeat_interval_ms=config.get("group.consumer.heartbeat.interval.ms"),
            consumer_assignors=tuple(config.get("group.consumer.assignors")),
        )

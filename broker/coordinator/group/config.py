"""The broker configs the group coordinator reads, resolved once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from broker.coordinator.configs import BrokerConfigs, from_config, resolve


def _minutes_to_ms(minutes: int) -> int:
    return minutes * 60 * 1000


@dataclass(frozen=True, slots=True)
class GroupConfig:
    min_session_timeout_ms: int = from_config("group.min.session.timeout.ms", 6000)
    max_session_timeout_ms: int = from_config("group.max.session.timeout.ms", 1800000)
    initial_rebalance_delay_ms: int = from_config("group.initial.rebalance.delay.ms", 3000)
    max_size: int = from_config("group.max.size", 2**31 - 1)
    offset_metadata_max_bytes: int = from_config("offset.metadata.max.bytes", 4096)
    offsets_retention_ms: int = from_config("offsets.retention.minutes", _minutes_to_ms(10080), _minutes_to_ms)
    offsets_retention_check_interval_ms: int = from_config("offsets.retention.check.interval.ms", 600000)
    offsets_topic_partitions: int = from_config("offsets.topic.num.partitions", 50)
    offsets_topic_replication_factor: int = from_config("offsets.topic.replication.factor", 3)
    offsets_topic_segment_bytes: int = from_config("offsets.topic.segment.bytes", 104857600)
    offsets_commit_timeout_ms: int = from_config("offsets.commit.timeout.ms", 5000)
    offsets_load_buffer_size: int = from_config("offsets.load.buffer.size", 5242880)
    consumer_session_timeout_ms: int = from_config("group.consumer.session.timeout.ms", 45000)
    consumer_heartbeat_interval_ms: int = from_config("group.consumer.heartbeat.interval.ms", 5000)
    consumer_assignors: tuple[str, ...] = from_config("group.consumer.assignors", ("uniform", "range"), tuple)

    @classmethod
    def from_broker(cls, config: BrokerConfigs) -> GroupConfig:
        return resolve(cls, config)

"""The broker configs the transaction coordinator reads, resolved once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class _Configs(Protocol):
    def get(self, name: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class TransactionConfig:
    topic_partitions: int = 50  # transaction.state.log.num.partitions
    topic_replication_factor: int = 3  # transaction.state.log.replication.factor
    topic_min_isr: int = 2  # transaction.state.log.min.isr
    topic_segment_bytes: int = 104857600  # transaction.state.log.segment.bytes
    load_buffer_size: int = 5242880  # transaction.state.log.load.buffer.size
    max_timeout_ms: int = 900000  # transaction.max.timeout.ms
    id_expiration_ms: int = 604800000  # transactional.id.expiration.ms
    abort_timed_out_interval_ms: int = 10000  # transaction.abort.timed.out.transaction.cleanup.interval.ms
    remove_expired_interval_ms: int = 3600000  # transaction.remove.expired.transaction.cleanup.interval.ms
    partition_verification: bool = True  # transaction.partition.verification.enable
    write_timeout_ms: int = 5000  # Kafka's transaction log append timeout (offsets.commit.timeout.ms's twin)

    @classmethod
    def from_broker(cls, config: _Configs) -> TransactionConfig:
        return cls(
            topic_partitions=config.get("transaction.state.log.num.partitions"),
            topic_replication_factor=config.get("transaction.state.log.replication.factor"),
            topic_min_isr=config.get("transaction.state.log.min.isr"),
            topic_segment_bytes=config.get("transaction.state.log.segment.bytes"),
            load_buffer_size=config.get("transaction.state.log.load.buffer.size"),
            max_timeout_ms=config.get("transaction.max.timeout.ms"),
            id_expiration_ms=config.get("transactional.id.expiration.ms"),
            abort_timed_out_interval_ms=config.get("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
            remove_expired_interval_ms=config.get("transaction.remove.expired.transaction.cleanup.interval.ms"),
            partition_verification=config.get("transaction.partition.verification.enable"),
        )

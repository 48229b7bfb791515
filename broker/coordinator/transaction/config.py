"""The broker configs the transaction coordinator reads, resolved once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from broker.coordinator.configs import BrokerConfigs, from_config, resolve


@dataclass(frozen=True, slots=True)
class TransactionConfig:
    topic_partitions: int = from_config("transaction.state.log.num.partitions", 50)
    topic_replication_factor: int = from_config("transaction.state.log.replication.factor", 3)
    topic_min_isr: int = from_config("transaction.state.log.min.isr", 2)
    topic_segment_bytes: int = from_config("transaction.state.log.segment.bytes", 104857600)
    load_buffer_size: int = from_config("transaction.state.log.load.buffer.size", 5242880)
    max_timeout_ms: int = from_config("transaction.max.timeout.ms", 900000)
    id_expiration_ms: int = from_config("transactional.id.expiration.ms", 604800000)
    abort_timed_out_interval_ms: int = from_config("transaction.abort.timed.out.transaction.cleanup.interval.ms", 10000)
    remove_expired_interval_ms: int = from_config("transaction.remove.expired.transaction.cleanup.interval.ms", 3600000)
    partition_verification: bool = from_config("transaction.partition.verification.enable", True)
    write_timeout_ms: int = 5000  # Kafka's transaction log append timeout (offsets.commit.timeout.ms's twin)

    @classmethod
    def from_broker(cls, config: BrokerConfigs) -> TransactionConfig:
        return resolve(cls, config)

"""``__transaction_state`` on this broker: where the transaction coordinator's records are appended
and replayed.

- The topic is created on first use, as Kafka does (``InternalTopic``: not in a cluster with fewer
  live brokers than the replication factor; a single broker caps the factor, and here the min ISR
  too, at 1): ``transaction.state.log.num.partitions`` partitions, replication factor
  ``transaction.state.log.replication.factor``, compacted, ``min.insync.replicas``
  ``transaction.state.log.min.isr``, segments of ``transaction.state.log.segment.bytes``. A
  transactional id's partition is ``abs(java hashCode(id)) % partitions`` of the existing topic.
  ``ensure_created`` is True once the topic exists; False ("not ready yet": COORDINATOR_NOT_AVAILABLE)
  while a creation is in flight.
- ``append`` writes one record (key, value; None = tombstone) to the id's partition through
  ``ReplicaManager.append_records`` (acks=all) and returns the coordinator's code: NONE once the
  record is committed, else Kafka's mapping of the failure (``append_error``; a batch too large is
  UNKNOWN_SERVER_ERROR, as in Kafka's TransactionStateManager).
- ``read_slices`` reads one partition from its log start in slices of
  ``transaction.state.log.load.buffer.size`` bytes; an unreadable record is logged and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

from broker.controller.api import Controller
from broker.coordinator.group.store import append_error
from broker.coordinator.internal_topic import InternalTopic
from broker.coordinator.log_slices import batch_slices
from broker.coordinator.transaction import records
from broker.coordinator.transaction.config import TransactionConfig
from broker.metadata_cache import MetadataCache
from broker.replica_manager import ReplicaManager
from protocol.errors import ErrorCode
from protocol.records import Record, build_batch
from storage.errors import StorageError

log = logging.getLogger(__name__)

TRANSACTION_TOPIC = "__transaction_state"


class TransactionLog(InternalTopic):
    def __init__(
        self,
        config: TransactionConfig,
        metadata: MetadataCache,
        controller: Controller,
        replicas: ReplicaManager,
        cluster: bool = False,
    ) -> None:
        super().__init__(
            TRANSACTION_TOPIC, config.topic_partitions, config.topic_replication_factor, metadata, controller,
            replicas, cluster, ("transactions state topic", "transaction.state.log.replication.factor"),
        )  # fmt: skip
        self.config = config

    def partition_for(self, transactional_id: str) -> int:
        return records.partition_for(transactional_id, self.partition_count())

    async def ensure_created(self) -> bool:
        """True once the topic exists, creating it if needed (this call waits for its own creation)."""
        if self.exists():
            return True
        if self.creating():
            return False
        factor = self.replication_factor()
        if factor is None:
            return False
        min_isr = self.config.topic_min_isr if self.cluster else min(self.config.topic_min_isr, factor)
        configs: dict[str, object] = {
            "cleanup.policy": ["compact"],
            "segment.bytes": self.config.topic_segment_bytes,
            "min.insync.replicas": min_isr,
            "unclean.leader.election.enable": False,
            "compression.type": "uncompressed",
        }
        return await self.create(factor, configs)

    # -- appending ---------------------------------------------------------------------------------
    async def append(self, transactional_id: str, value: bytes | None) -> ErrorCode:
        """Write the id's record (None: a tombstone); NONE once committed, else the coordinator's code."""
        index = self.partition_for(transactional_id)
        key = (TRANSACTION_TOPIC, index)
        now = int(time.time() * 1000)
        data = build_batch([Record(0, now, records.key(transactional_id), value)])
        try:
            results = await self.replicas.append_records(
                {key: data}, required_acks=-1, timeout_ms=self.config.write_timeout_ms, internal=True
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("appending to %s-%d for %s failed", TRANSACTION_TOPIC, index, transactional_id)
            return ErrorCode.UNKNOWN_SERVER_ERROR
        error = results[key].error
        if error is None:
            return ErrorCode.NONE
        code = append_error(error)
        if code is ErrorCode.MESSAGE_TOO_LARGE or isinstance(error, StorageError):
            log.error("appending to %s-%d for %s failed: %r", TRANSACTION_TOPIC, index, transactional_id, error)
        return ErrorCode.UNKNOWN_SERVER_ERROR if code is ErrorCode.MESSAGE_TOO_LARGE else code

    # -- loading -----------------------------------------------------------------------------------
    def read_slices(self, index: int) -> Iterator[list[records.TxnRecord]]:
        """The partition's records from its log start to its present end, in offset order, a slice of
        at most ``transaction.state.log.load.buffer.size`` bytes at a time."""
        name = f"{TRANSACTION_TOPIC}-{index}"
        for batches in batch_slices(self.replicas, TRANSACTION_TOPIC, index, self.config.load_buffer_size):
            out: list[records.TxnRecord] = []
            for header, parsed in batches:
                if header.is_control:
                    continue
                for record in parsed:
                    try:
                        out.append(records.parse(record.key, record.value))
                    except records.BadTxnRecord as exc:
                        log.warning("%s at offset %d: %s; skipped", name, record.offset, exc)
            yield out

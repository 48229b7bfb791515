"""``__transaction_state`` on this broker: where the transaction coordinator's records are appended
and replayed.

- The topic is created on first use, as Kafka does: ``transaction.state.log.num.partitions``
  partitions, replication factor ``transaction.state.log.replication.factor``, compacted,
  ``min.insync.replicas`` ``transaction.state.log.min.isr``, segments of
  ``transaction.state.log.segment.bytes``. In cluster mode, as Kafka, it is not created while fewer
  brokers are alive than the replication factor (COORDINATOR_NOT_AVAILABLE meanwhile, and an error
  logged), so a cluster still starting cannot end up with a smaller factor for good. A single broker
  (no ZooKeeper) caps both at what one broker can have (1), so the defaults work there. A
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
from broker.controller.errors import ControllerError
from broker.coordinator.group.store import append_error
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


class TransactionLog:
    def __init__(
        self,
        config: TransactionConfig,
        metadata: MetadataCache,
        controller: Controller,
        replicas: ReplicaManager,
        cluster: bool = False,
    ) -> None:
        self.config = config
        self.metadata = metadata
        self.controller = controller
        self.replicas = replicas
        self.cluster = cluster
        self._creating = False
        self._short_of_brokers = -1  # the live broker count last logged as too few

    def partition_count(self) -> int:
        count = self.metadata.num_partitions(TRANSACTION_TOPIC)
        return count if count is not None else self.config.topic_partitions

    def partition_for(self, transactional_id: str) -> int:
        return records.partition_for(transactional_id, self.partition_count())

    def exists(self) -> bool:
        return self.metadata.topic(TRANSACTION_TOPIC) is not None

    async def ensure_created(self) -> bool:
        """True once the topic exists, creating it if needed (this call waits for its own creation)."""
        if self.exists():
            return True
        if self._creating or self.controller.is_being_created(TRANSACTION_TOPIC):
            return False
        alive = len(self.metadata.alive_brokers())
        factor, min_isr = self.config.topic_replication_factor, self.config.topic_min_isr
        if not self.cluster:
            factor, min_isr = min(factor, alive), min(min_isr, factor, alive)
        elif alive < factor:
            if alive != self._short_of_brokers:
                self._short_of_brokers = alive
                log.error(
                    "Number of alive brokers '%d' does not meet the required replication factor '%d' for the "
                    "transactions state topic (configured via 'transaction.state.log.replication.factor'). This "
                    "error can be ignored if the cluster is starting up and not all brokers are up yet.",
                    alive, factor,
                )  # fmt: skip
            return False
        configs: dict[str, object] = {
            "cleanup.policy": ["compact"],
            "segment.bytes": self.config.topic_segment_bytes,
            "min.insync.replicas": min_isr,
            "unclean.leader.election.enable": False,
            "compression.type": "uncompressed",
        }
        self._creating = True
        try:
            count = self.config.topic_partitions
            replicas = self.controller.check_new_topic(TRANSACTION_TOPIC, count, factor, None)
            await self.controller.create_topic(TRANSACTION_TOPIC, replicas, configs)
        except ControllerError as exc:
            if exc.code is not ErrorCode.TOPIC_ALREADY_EXISTS:
                log.error("cannot create %s: %s", TRANSACTION_TOPIC, exc.message)
            return False
        finally:
            self._creating = False
        return True

    def leader_epoch(self, index: int) -> int | None:
        """The leader epoch of partition ``index`` if this broker leads it (the coordinator epoch)."""
        partition = self.replicas.get_partition(TRANSACTION_TOPIC, index)
        if partition is None or not partition.is_leader(self.replicas.node_id):
            return None
        return partition.leader_epoch

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
    def is_empty(self, index: int) -> bool:
        partition = self.replicas.get_partition(TRANSACTION_TOPIC, index)
        return partition is None or partition.log.log_end_offset <= partition.log.log_start_offset

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

"""``__consumer_offsets`` on this broker: where the group coordinator's records are appended and replayed.

- The topic is created on first use, as Kafka does (``InternalTopic``: not in a cluster with fewer
  live brokers than the replication factor): ``offsets.topic.num.partitions`` partitions, replication
  factor ``offsets.topic.replication.factor``, compacted, segments of ``offsets.topic.segment.bytes``.
  A group's partition is ``abs(java hashCode(group id)) % partitions`` (of the existing topic,
  whatever the config now says). A finished creation calls ``on_created`` (the service elects the
  new partitions).
- Creation goes through the controller's async path, so the event loop (every other client) goes on
  while the logs are made. ``ensure_created`` is True once the topic exists: the request that starts
  the creation waits for it; any request meanwhile (the creation in flight, or found finished by a
  concurrent creator: TOPIC_ALREADY_EXISTS) gets False, "not ready yet", which callers answer with
  COORDINATOR_NOT_AVAILABLE (retriable), as Kafka does while its offsets topic is created and loaded.
- ``append`` is Kafka's ``appendRecords`` with a callback: it issues one v2 batch to the group's
  partition through ``ReplicaManager.append_records`` (acks=all, ``offsets.commit.timeout.ms``) and
  returns at once; the callback runs later, on the loop, with NONE once the batch is committed (the
  high watermark passed it) or the code Kafka's coordinator answers for the failure. Callbacks of one
  partition run in the order their appends were issued, never inside ``append``. Without the topic
  it starts the creation in the background and completes with COORDINATOR_NOT_AVAILABLE.
- Append failures become the codes Kafka's group coordinator service answers with (the coordinator
  needs the outcome to undo its own change, so this is the one place outside handlers that maps
  storage and data-path errors; one that carries a Kafka ``code`` is mapped by that code):
  no partition, too few replicas or a timeout -> COORDINATOR_NOT_AVAILABLE; not the leader or an
  offline log -> NOT_COORDINATOR; a batch over max.message.bytes -> MESSAGE_TOO_LARGE (the coordinator
  turns it into INVALID_COMMIT_OFFSET_SIZE for commits, UNKNOWN_SERVER_ERROR for group metadata, as
  Kafka does).
- A transactional offset commit (``producer`` given) is that producer's transactional batch; loading
  reads such batches and the transaction markers after them (``records.TxnOffsetRecord``, ``TxnMarker``).
- Loading reads one partition from its log start in slices of ``offsets.load.buffer.size`` bytes,
  decoding every batch; the caller yields to the loop between slices. A record we cannot read is
  logged and skipped (it is the log's fault, not a client's).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from broker.controller.api import Controller
from broker.coordinator.group import records
from broker.coordinator.group.config import GroupConfig
from broker.coordinator.group.writes import AppendCallback
from broker.coordinator.internal_topic import InternalTopic
from broker.coordinator.log_slices import batch_slices
from broker.delayed import RequestTimedOut
from broker.metadata_cache import MetadataCache
from broker.partition import (
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    NotLeaderOrFollower,
    UnknownTopicOrPartition,
)
from broker.replica_manager import ReplicaManager
from protocol.errors import ErrorCode
from protocol.records import Record, build_batch
from protocol.records.control import ControlRecordType, read_control_record
from protocol.records.header import InvalidRecordBatch
from storage.errors import LogOffline, RecordTooLarge, StorageError
from storage.producer.state import AppendOrigin

log = logging.getLogger(__name__)

OFFSETS_TOPIC = "__consumer_offsets"

# Kafka's mapping of an append's error to what the coordinator answers (GroupMetadataManager).
_APPEND_CODES: dict[ErrorCode, ErrorCode] = {
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.REQUEST_TIMED_OUT: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_LEADER_OR_FOLLOWER: ErrorCode.NOT_COORDINATOR,
    ErrorCode.KAFKA_STORAGE_ERROR: ErrorCode.NOT_COORDINATOR,
    ErrorCode.MESSAGE_TOO_LARGE: ErrorCode.MESSAGE_TOO_LARGE,
    ErrorCode.RECORD_LIST_TOO_LARGE: ErrorCode.MESSAGE_TOO_LARGE,
    ErrorCode.INVALID_FETCH_SIZE: ErrorCode.MESSAGE_TOO_LARGE,
}


def append_error(exc: BaseException) -> ErrorCode:
    """What the coordinator answers when appending its records failed with ``exc``."""
    if isinstance(
        exc, NotEnoughReplicas | NotEnoughReplicasAfterAppend | RequestTimedOut | UnknownTopicOrPartition | TimeoutError
    ):
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if isinstance(exc, NotLeaderOrFollower):
        return ErrorCode.NOT_COORDINATOR
    if isinstance(exc, RecordTooLarge):
        return ErrorCode.MESSAGE_TOO_LARGE
    if isinstance(exc, LogOffline):
        return ErrorCode.NOT_COORDINATOR
    code = getattr(exc, "code", None)  # a data-path error that carries its Kafka code
    if isinstance(code, ErrorCode):
        return _APPEND_CODES.get(code, code)
    return ErrorCode.UNKNOWN_SERVER_ERROR


@dataclass(slots=True, eq=False)
class _InFlight:
    callback: AppendCallback
    error: ErrorCode | None = None  # None until the append completed


class OffsetsTopic(InternalTopic):
    def __init__(
        self,
        config: GroupConfig,
        metadata: MetadataCache,
        controller: Controller,
        replicas: ReplicaManager,
        cluster: bool = False,
    ) -> None:
        super().__init__(
            OFFSETS_TOPIC, config.offsets_topic_partitions, config.offsets_topic_replication_factor,
            metadata, controller, replicas, cluster, ("offsets topic", "offsets.topic.replication.factor"),
        )  # fmt: skip
        self.config = config
        self.on_created: Callable[[], None] = lambda: None  # the service elects the new partitions
        self._background: set[asyncio.Task[bool]] = set()  # creations ``append`` started
        self._appends: set[asyncio.Task[None]] = set()
        self._in_flight: dict[int, deque[_InFlight]] = {}  # partition -> appends in issue order

    def partition_for(self, group_id: str) -> int:
        return records.partition_for(group_id, self.partition_count())

    async def ensure_created(self) -> bool:
        """True once the topic exists, creating it if needed (this call waits for its own creation).
        False, "not ready yet" (COORDINATOR_NOT_AVAILABLE to the client), while a creation is in
        flight, when a concurrent creator got there first, or when the creation failed (logged)."""
        if self.exists():
            return True
        if self._in_flight_creation():
            return False
        return await self._create()

    def start_creation(self) -> None:
        """Create the topic in the background (no-op if it exists or is being created)."""
        if self.exists() or self._in_flight_creation():
            return
        task = asyncio.get_running_loop().create_task(self._create(), name=f"create {OFFSETS_TOPIC}")
        self._background.add(task)
        task.add_done_callback(self._created_in_background)

    def _in_flight_creation(self) -> bool:
        return self.creating() or bool(self._background)

    async def _create(self) -> bool:
        factor = self.replication_factor()
        if factor is None:
            return False
        configs: dict[str, object] = {
            "cleanup.policy": ["compact"],
            "segment.bytes": self.config.offsets_topic_segment_bytes,
            "compression.type": "producer",
        }
        if not await self.create(factor, configs):
            return False
        self.on_created()
        return True

    def _created_in_background(self, task: asyncio.Task[bool]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("creating %s failed", OFFSETS_TOPIC, exc_info=task.exception())

    def shutdown(self) -> None:
        """Stop waiting for background creations (the controller finishes a creation it started)."""
        for task in list(self._background):
            task.cancel()

    # -- appending ---------------------------------------------------------------------------------
    def append(
        self,
        group_id: str,
        batch: list[tuple[bytes, bytes | None]],
        callback: AppendCallback,
        producer: tuple[int, int] | None = None,
    ) -> None:
        """Issue the append of ``batch`` (key, value; value None = tombstone) to the group's partition;
        ``callback`` runs later with NONE once it is committed, else the coordinator's error code."""
        loop = asyncio.get_running_loop()
        index = self.partition_for(group_id)
        entry = _InFlight(callback)
        self._in_flight.setdefault(index, deque()).append(entry)
        if not self.exists():
            self.start_creation()
            loop.call_soon(self._complete, index, entry, ErrorCode.COORDINATOR_NOT_AVAILABLE)
            return
        now = int(time.time() * 1000)
        records_ = [Record(i, now, key, value) for i, (key, value) in enumerate(batch)]
        if producer is None:
            data = build_batch(records_)
        else:  # a transactional offset commit: the producer's transactional batch
            data = build_batch(
                records_, producer_id=producer[0], producer_epoch=producer[1], base_sequence=0, is_transactional=True
            )
        task = loop.create_task(self._append_and_complete(index, entry, group_id, data), name=f"append for {group_id}")
        self._appends.add(task)
        task.add_done_callback(self._appends.discard)

    async def _append_and_complete(self, index: int, entry: _InFlight, group_id: str, data: bytes) -> None:
        try:
            error = await self._append(index, group_id, data)
        except asyncio.CancelledError:
            self._complete(index, entry, ErrorCode.COORDINATOR_NOT_AVAILABLE)
            raise
        except Exception:
            log.exception("appending to %s-%d for group %s failed", OFFSETS_TOPIC, index, group_id)
            error = ErrorCode.UNKNOWN_SERVER_ERROR
        self._complete(index, entry, error)

    async def _append(self, index: int, group_id: str, data: bytes) -> ErrorCode:
        key = (OFFSETS_TOPIC, index)
        partition = self.replicas.get_partition(*key)
        if partition is None:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if not partition.is_leader(self.replicas.node_id):
            return ErrorCode.NOT_COORDINATOR
        results = await self.replicas.append_records(
            {key: data},
            required_acks=-1,
            timeout_ms=self.config.offsets_commit_timeout_ms,
            internal=True,
            origin=AppendOrigin.COORDINATOR,
        )
        error = results[key].error
        if error is None:
            return ErrorCode.NONE
        code = append_error(error)
        if isinstance(error, StorageError) or code is ErrorCode.UNKNOWN_SERVER_ERROR:
            log.error("appending to %s-%d for group %s failed: %r", OFFSETS_TOPIC, index, group_id, error)
        return code

    def _complete(self, index: int, entry: _InFlight, error: ErrorCode) -> None:
        """Record ``entry``'s outcome; run every completed callback at the head of the partition's queue."""
        entry.error = error
        queue = self._in_flight[index]
        while queue and queue[0].error is not None:
            done = queue.popleft()
            assert done.error is not None
            try:
                done.callback(done.error)
            except Exception:
                log.exception("a group coordinator completion failed")
        if not queue:
            del self._in_flight[index]

    # -- loading -----------------------------------------------------------------------------------
    def read_slices(self, index: int) -> Iterator[list[records.AnyRecord]]:
        """The partition's records from its log start to its present end, in offset order, a slice of
        at most ``offsets.load.buffer.size`` bytes at a time (the caller may yield between slices)."""
        name = f"{OFFSETS_TOPIC}-{index}"
        for batches in batch_slices(self.replicas, OFFSETS_TOPIC, index, self.config.offsets_load_buffer_size):
            out: list[records.AnyRecord] = []
            for header, parsed in batches:
                if header.is_control:  # a transaction marker: applies or drops the producer's offsets
                    for record in parsed:
                        try:
                            control = read_control_record(record)
                        except InvalidRecordBatch:
                            continue
                        if control.type in (ControlRecordType.COMMIT, ControlRecordType.ABORT):
                            commit = control.type is ControlRecordType.COMMIT
                            out.append(records.TxnMarker(header.producer_id, commit))
                    continue
                for record in parsed:
                    try:
                        parsed_record = records.parse(record.key, record.value)
                    except records.BadGroupRecord as exc:
                        log.warning("%s at offset %d: %s; skipped", name, record.offset, exc)
                        continue
                    if header.is_transactional and isinstance(parsed_record, records.OffsetRecord):
                        out.append(records.TxnOffsetRecord(header.producer_id, parsed_record))
                    else:
                        out.append(parsed_record)
            yield out

    def replay(self) -> Iterator[records.AnyRecord]:
        """Every record of every partition, each partition from its log start, in offset order."""
        for index in range(self.partition_count()):
            for chunk in self.read_slices(index):
                yield from chunk

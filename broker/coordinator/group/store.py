"""``__consumer_offsets`` on this broker: where the group coordinator's records are appended and replayed.

- The topic is created on first use, as Kafka does: ``offsets.topic.num.partitions`` partitions,
  replication factor ``min(offsets.topic.replication.factor, live brokers)``, compacted, segments of
  ``offsets.topic.segment.bytes``. A group's partition is ``abs(java hashCode(group id)) % partitions``
  (of the existing topic, whatever the config now says).
- Creation goes through the controller's async path, so the event loop (every other client) goes on
  while the logs are made. ``ensure_created`` is True once the topic exists: the request that starts
  the creation waits for it; any request meanwhile (the creation in flight, or found finished by a
  concurrent creator: TOPIC_ALREADY_EXISTS) gets False, "not ready yet", which callers answer with
  COORDINATOR_NOT_AVAILABLE (retriable), as Kafka does while its offsets topic is created and loaded.
  ``write`` cannot wait (the coordinator calls it in the middle of a state change): without the topic
  it starts the creation in the background and answers COORDINATOR_NOT_AVAILABLE.
- A write is one v2 batch appended through the partition's leader with acks=all; on a single broker
  that means it is in the log before the coordinator answers the client. The page cache holds it;
  the broker's periodic flush (and Kafka's own durability model: replication) does the rest.
- Append failures become the codes Kafka's coordinator answers with (the coordinator needs the outcome
  to undo its own change, so this is the one place outside handlers that maps storage errors):
  no partition or too few replicas -> COORDINATOR_NOT_AVAILABLE; an offline log -> NOT_COORDINATOR;
  a batch over max.message.bytes -> MESSAGE_TOO_LARGE (the coordinator turns it into
  INVALID_COMMIT_OFFSET_SIZE for commits, UNKNOWN_SERVER_ERROR for group metadata, as Kafka does).
- Loading reads every partition from its log start, decodes every batch and replays its records in
  offset order. A record we cannot read is logged and skipped (it is the log's fault, not a client's).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

from broker.controller.api import Controller
from broker.controller.errors import ControllerError
from broker.coordinator.group import records
from broker.coordinator.group.config import GroupConfig
from broker.metadata_cache import MetadataCache
from broker.partition import NotEnoughReplicas
from broker.replica_manager import ReplicaManager
from protocol.errors import ErrorCode
from protocol.records import Record, build_batch, iter_batches, iter_records
from protocol.records.exceptions import CorruptRecordBatch
from protocol.records.header import InvalidRecordBatch
from storage.errors import LogOffline, RecordTooLarge, StorageError
from storage.log.log import Log

log = logging.getLogger(__name__)

OFFSETS_TOPIC = "__consumer_offsets"
_LOAD_CHUNK = 1 << 20


class OffsetsTopic:
    def __init__(
        self, config: GroupConfig, metadata: MetadataCache, controller: Controller, replicas: ReplicaManager
    ) -> None:
        self.config = config
        self.metadata = metadata
        self.controller = controller
        self.replicas = replicas
        self._creating = False  # a request of ours is creating the topic (``_create`` runs)
        self._background: set[asyncio.Task[bool]] = set()  # creations ``write`` started

    def partition_count(self) -> int:
        count = self.metadata.num_partitions(OFFSETS_TOPIC)
        return count if count is not None else self.config.offsets_topic_partitions

    def partition_for(self, group_id: str) -> int:
        return records.partition_for(group_id, self.partition_count())

    def exists(self) -> bool:
        return self.metadata.topic(OFFSETS_TOPIC) is not None

    async def ensure_created(self) -> bool:
        """True once the topic exists, creating it if needed (this call waits for its own creation).
        False, "not ready yet" (COORDINATOR_NOT_AVAILABLE to the client), while a creation is in
        flight, when a concurrent creator got there first, or when the creation failed (logged)."""
        if self.exists():
            return True
        if self._in_flight():
            return False
        return await self._create()

    def start_creation(self) -> None:
        """Create the topic in the background (no-op if it exists or is being created)."""
        if self.exists() or self._in_flight():
            return
        task = asyncio.get_running_loop().create_task(self._create(), name=f"create {OFFSETS_TOPIC}")
        self._background.add(task)
        task.add_done_callback(self._created_in_background)

    def _in_flight(self) -> bool:
        return self._creating or bool(self._background) or self.controller.is_being_created(OFFSETS_TOPIC)

    async def _create(self) -> bool:
        factor = min(self.config.offsets_topic_replication_factor, len(self.metadata.alive_brokers()))
        configs: dict[str, object] = {
            "cleanup.policy": ["compact"],
            "segment.bytes": self.config.offsets_topic_segment_bytes,
            "compression.type": "producer",
        }
        self._creating = True
        try:
            count = self.config.offsets_topic_partitions
            replicas = self.controller.check_new_topic(OFFSETS_TOPIC, count, factor, None)
            await self.controller.create_topic(OFFSETS_TOPIC, replicas, configs)
        except ControllerError as exc:
            if exc.code is ErrorCode.TOPIC_ALREADY_EXISTS:  # a concurrent creation: ready on a retry
                return False
            log.error("cannot create %s: %s", OFFSETS_TOPIC, exc.message)
            return False
        finally:
            self._creating = False
        return True

    def _created_in_background(self, task: asyncio.Task[bool]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("creating %s failed", OFFSETS_TOPIC, exc_info=task.exception())

    def shutdown(self) -> None:
        """Stop waiting for background creations (the controller finishes a creation it started)."""
        for task in list(self._background):
            task.cancel()

    # -- RecordWriter ------------------------------------------------------------------------------
    def write(self, group_id: str, batch: list[tuple[bytes, bytes | None]]) -> ErrorCode:
        if not self.exists():
            self.start_creation()
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        partition = self.replicas.get_partition(OFFSETS_TOPIC, self.partition_for(group_id))
        if partition is None:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        now = int(time.time() * 1000)
        data = build_batch([Record(i, now, key, value) for i, (key, value) in enumerate(batch)])
        try:
            partition.append_as_leader(data, required_acks=-1)
        except NotEnoughReplicas:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        except RecordTooLarge:
            return ErrorCode.MESSAGE_TOO_LARGE
        except LogOffline:
            return ErrorCode.NOT_COORDINATOR
        except StorageError as exc:
            log.error("appending to %s for group %s failed: %s", partition.key, group_id, exc)
            return ErrorCode.UNKNOWN_SERVER_ERROR
        self.replicas.on_append(partition)
        return ErrorCode.NONE

    # -- loading -----------------------------------------------------------------------------------
    def replay(self) -> Iterator[records.AnyRecord]:
        """Every record of every partition, each partition from its log start, in offset order."""
        for index in range(self.partition_count()):
            partition = self.replicas.get_partition(OFFSETS_TOPIC, index)
            if partition is not None:
                yield from self._replay_partition(partition.log)

    def _replay_partition(self, log_: Log) -> Iterator[records.AnyRecord]:
        offset = log_.log_start_offset
        end = log_.log_end_offset
        while offset < end:
            data = log_.read(offset, _LOAD_CHUNK, end).read_bytes()
            if not data:
                break
            for header, batch in iter_batches(data):
                offset = header.next_offset
                if header.is_control:  # transaction markers: nothing for groups (yet)
                    continue
                try:
                    parsed = list(iter_records(batch, verify_crc=True))
                except (InvalidRecordBatch, CorruptRecordBatch) as exc:
                    log.warning("%s: unreadable batch at %d: %s; skipped", log_.name, header.base_offset, exc)
                    continue
                for record in parsed:
                    try:
                        yield records.parse(record.key, record.value)
                    except records.BadGroupRecord as exc:
                        log.warning("%s at offset %d: %s; skipped", log_.name, record.offset, exc)

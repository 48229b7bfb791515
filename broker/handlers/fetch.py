"""Fetch (1), versions 0-17.

- Consumers (replica id < 0) read up to the high watermark (read_uncommitted) or the last stable
  offset (read_committed, v4+; equal to the HW until transactions exist; aborted_transactions is
  then an empty list, and null for read_uncommitted, as Kafka sends them).
- Long polling: the answer waits up to ``max_wait_ms`` for ``min_bytes`` in the fetch purgatory,
  woken by appends (and HW moves) on any fetched partition; each wake re-reads. It goes out at once
  when a partition has an error or a diverging epoch, as in Kafka.
- Limits: ``max_bytes`` (bounded by the broker's ``fetch.max.bytes``) over the whole answer,
  ``partition_max_bytes`` per partition; only whole batches. KIP-74: the first batch of the first
  partition that has data comes back even if larger than both limits, so consumers progress.
- Per partition: high_watermark, last_stable_offset, log_start_offset; errors (with -1 offsets)
  UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID (v13+, topics by id), NOT_LEADER_OR_FOLLOWER,
  OFFSET_OUT_OF_RANGE (below the log start or above the log end offset), FENCED_LEADER_EPOCH /
  UNKNOWN_LEADER_EPOCH (v9+ current leader epoch), KAFKA_STORAGE_ERROR. v12+: a last fetched epoch
  that the log diverges from comes back as diverging_epoch (KIP-320), with no records.
- Fetch sessions: none are kept (``broker.fetch_session``): full fetches answer session id 0,
  incremental ones FETCH_SESSION_ID_NOT_FOUND, as Kafka does with a full session cache.
- Follower fetches (replica id >= 0) get NOT_LEADER_OR_FOLLOWER: no broker is a replica of this
  single-node cluster's partitions yet (replication is a later issue).
- Records stay in the segment files: large regions go out with ``sendfile`` after the response
  head, small ones are read into the answer (``broker.zerocopy``: placeholders, descriptors of their
  own, and what happens when a segment is deleted or truncated before the bytes are sent).

- v0-3 predate record batches: stored batches are down-converted to magic 0 (v0-1) or magic 1 (v2-3)
  message sets, as Kafka does (``protocol.records.down_convert``: records below the fetch offset are
  dropped from uncompressed batches, headers and transaction markers are dropped); zstd data has no
  legacy form and gets UNSUPPORTED_COMPRESSION_TYPE. Converted bytes are read, not sent with sendfile.

Version notes: v1 throttle time; v2 magic 1 (timestamps); v3 response-level max_bytes; v4 isolation
level, LSO, aborted transactions, magic 2; v5 log start offset; v7 sessions;
v9 current leader epoch; v11 rack id, preferred read replica; v12 flexible, last fetched epoch,
diverging epoch; v13 topic ids; v15 replica state; v16 node endpoints; v17 replica directory id.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from broker.dispatcher import RequestContext, handles
from broker.fetch_session import decide
from broker.handlers._partitions import DATA_PATH_ERRORS, PartitionError, error_code, leader_partition
from broker.partition import READ_COMMITTED, Partition
from broker.zerocopy import FileBackedResponse, RecordsSplicer
from protocol.errors import ErrorCode
from protocol.messages.fetch import (
    FETCH,
    EpochEndOffset,
    FetchableTopicResponse,
    FetchPartition,
    FetchRequest,
    FetchResponse,
    PartitionData,
)
from protocol.records import InvalidRecordBatch, UnsupportedCompressionForMagic, down_convert
from storage.errors import OffsetOutOfRange
from storage.log.results import FetchDataInfo

TOPIC_IDS_VERSION = 13


@dataclass(slots=True)
class _Wanted:
    request: FetchPartition
    partition: Partition | None
    error: ErrorCode = ErrorCode.NONE


@dataclass(slots=True)
class _Topic:
    answer: FetchableTopicResponse
    wanted: list[_Wanted]


LEGACY_MAGIC_BELOW = 4  # Fetch v0-1 read magic 0, v2-3 magic 1; v4+ reads the stored batches as they are


@handles(FETCH, versions="0-17")
async def handle_fetch(ctx: RequestContext, request: FetchRequest) -> FetchResponse | FileBackedResponse:
    session = decide(request.session_id, request.session_epoch)
    if session.session_missing:
        return FetchResponse(error_code=ErrorCode.FETCH_SESSION_ID_NOT_FOUND, session_id=0)
    broker = ctx.broker
    replica_id = request.replica_state.replica_id if ctx.version >= 15 else request.replica_id
    topics = _resolve(ctx, request, follower=replica_id >= 0)
    wanted = [w for t in topics for w in t.wanted]
    isolation = request.isolation_level
    max_bytes = min(request.max_bytes, broker.config.get("fetch.max.bytes"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(request.max_wait_ms, 0) / 1000
    keys = [w.partition.key for w in wanted if w.partition is not None]
    while True:
        reads = _read_all(wanted, max_bytes, isolation)
        remaining = deadline - loop.time()
        if remaining <= 0 or not keys or broker.stopping or _complete(reads, request.min_bytes):
            break
        await broker.replica_manager.fetch_purgatory.wait(keys, remaining)
    # From here to the return there is no await: the regions are opened while they are current.
    response = FetchResponse(session_id=session.session_id)
    splicer = RecordsSplicer()
    it = iter(reads)
    for topic in topics:
        response.responses.append(topic.answer)
        for w in topic.wanted:
            answer, info = next(it)
            if info is None:
                pass
            elif ctx.version < LEGACY_MAGIC_BELOW:
                _fill_legacy_records(answer, info, 0 if ctx.version <= 1 else 1, w.request.fetch_offset)
            else:
                _fill_records(answer, info, splicer)
            topic.answer.partitions.append(answer)
    return splicer.response(response)


def _resolve(ctx: RequestContext, request: FetchRequest, follower: bool) -> list[_Topic]:
    broker = ctx.broker
    out: list[_Topic] = []
    for topic in request.topics:
        name: str | None = topic.topic
        if ctx.version >= TOPIC_IDS_VERSION:
            found = broker.metadata_cache.topic_by_id(topic.topic_id)
            name = found.name if found is not None else None
        answer = FetchableTopicResponse(topic=name or "", topic_id=topic.topic_id)
        wanted = []
        for part in topic.partitions:
            if name is None:
                wanted.append(_Wanted(part, None, ErrorCode.UNKNOWN_TOPIC_ID))
            elif follower:
                wanted.append(_Wanted(part, None, ErrorCode.NOT_LEADER_OR_FOLLOWER))
            else:
                try:
                    wanted.append(_Wanted(part, leader_partition(broker, name, part.partition)))
                except PartitionError as exc:
                    wanted.append(_Wanted(part, None, exc.code))
        out.append(_Topic(answer, wanted))
    return out


def _read_all(
    wanted: list[_Wanted], max_bytes: int, isolation: int
) -> list[tuple[PartitionData, FetchDataInfo | None]]:
    """Read every partition in request order within the byte limits (no bytes are copied yet)."""
    limit = max_bytes
    min_one = True
    reads = []
    for w in wanted:
        answer, info = _read_one(w, limit, min_one, isolation)
        if info is not None and info.size > 0:
            min_one = False
            limit = max(0, limit - info.size)
        reads.append((answer, info))
    return reads


def _read_one(w: _Wanted, limit: int, min_one: bool, isolation: int) -> tuple[PartitionData, FetchDataInfo | None]:
    req = w.request
    answer = PartitionData(
        partition_index=req.partition, error_code=w.error, high_watermark=-1, last_stable_offset=-1,
        log_start_offset=-1, records=b"", aborted_transactions=[] if isolation == READ_COMMITTED else None,
    )  # fmt: skip
    partition = w.partition
    if partition is None:
        return answer, None
    try:
        partition.check_leader_epoch(req.current_leader_epoch)
        high_watermark, stable, start = (
            partition.high_watermark,
            partition.last_stable_offset,
            partition.log_start_offset,
        )
        diverging = _diverging_epoch(partition, req, start)
        info = None
        if diverging is None:
            info = partition.read(
                req.fetch_offset,
                min(max(req.partition_max_bytes, 0), limit),
                committed_only=False,
                max_offset=partition.last_fetchable_offset(isolation),
                min_one_message=min_one,
            )
        else:
            answer.diverging_epoch = diverging
    except DATA_PATH_ERRORS as exc:
        answer.error_code = error_code(exc)
        return answer, None
    answer.high_watermark = high_watermark
    answer.last_stable_offset = stable
    answer.log_start_offset = start
    return answer, info


def _diverging_epoch(partition: Partition, req: FetchPartition, log_start: int) -> EpochEndOffset | None:
    """KIP-320: does the log diverge from the epoch of the last batch the client saw?"""
    if req.last_fetched_epoch < 0:
        return None
    epoch, end = partition.log.end_offset_for_epoch(req.last_fetched_epoch)
    if epoch < 0 or end < 0:
        raise OffsetOutOfRange(req.fetch_offset, log_start, partition.log_end_offset, "fetch after unknown epoch")
    if req.fetch_offset < log_start:
        raise OffsetOutOfRange(req.fetch_offset, log_start, partition.log_end_offset)
    if epoch < req.last_fetched_epoch or end < req.fetch_offset:
        return EpochEndOffset(epoch=epoch, end_offset=end)
    return None


def _complete(reads: list[tuple[PartitionData, FetchDataInfo | None]], min_bytes: int) -> bool:
    total = 0
    for answer, info in reads:
        if answer.error_code != ErrorCode.NONE or answer.diverging_epoch.epoch >= 0:
            return True
        if info is not None:
            total += info.size
    return total >= min_bytes


def _fill_records(answer: PartitionData, info: FetchDataInfo, splicer: RecordsSplicer) -> None:
    try:
        answer.records = splicer.records(info)
    except OSError:
        answer.error_code = ErrorCode.KAFKA_STORAGE_ERROR
        answer.high_watermark = answer.last_stable_offset = answer.log_start_offset = -1
        answer.records = b""


def _fill_legacy_records(answer: PartitionData, info: FetchDataInfo, magic: int, fetch_offset: int) -> None:
    """Fetch v0-3: the stored batches as a magic 0 or 1 message set."""
    try:
        answer.records = down_convert(info.read_bytes(), magic, first_offset=fetch_offset)
    except UnsupportedCompressionForMagic:
        answer.error_code = ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
        answer.records = b""
    except InvalidRecordBatch:
        answer.error_code = ErrorCode.CORRUPT_MESSAGE
        answer.records = b""
    except OSError:
        answer.error_code = ErrorCode.KAFKA_STORAGE_ERROR
        answer.high_watermark = answer.last_stable_offset = answer.log_start_offset = -1
        answer.records = b""

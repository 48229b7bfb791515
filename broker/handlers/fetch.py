"""Fetch (1), versions 0-17.

- Consumers (replica id < 0) read up to the high watermark (read_uncommitted) or the last stable
  offset (read_committed, v4+: below the first open transaction). read_committed answers carry
  aborted_transactions (producer id, first offset) of the aborted transactions with data in the
  batches returned, from the segments' ``.txnindex``, so the client drops their records (an empty
  list when there are none; null for read_uncommitted, as Kafka sends them). The long poll of a
  read_committed fetch waits for the LSO to pass the fetch offset: markers and HW moves wake it.
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
- The handler decodes, calls ``ReplicaManager.fetch_messages`` (reads, long polling, isolation,
  limits, follower fetches) and maps its exceptions to error codes.
- Follower fetches (replica id >= 0) read up to the log end offset and move that follower's log end
  offset on the leader (and so the HW); a replica id that is not a follower of the partition gets
  NOT_LEADER_OR_FOLLOWER, which is every replica id on a single broker. Replication quota (Kafka's):
  a follower out of the ISR gets no records of a partition its topic throttles here
  (``leader.replication.throttled.replicas``) while the leader's quota is exceeded; each follower
  fetch records the size of its answer's throttled partitions (``broker.replication.quota``).
- Client quotas (consumers only): the answer's record bytes count against the connection's
  ``consumer_byte_rate`` (``broker.quotas``); an answer is at most what the quota allows in one
  window (Kafka's ``getMaxValueInQuotaWindow``: rate * (quota.window.num - 1) * window); over the
  quota, the answer is Kafka's throttled one (no partitions, the throttle time, its bytes not
  counted) and the connection is muted for the throttle time.
- Records stay in the segment files: large regions go out with ``sendfile`` after the response
  head, small ones are read into the answer (``broker.zerocopy``: placeholders, descriptors of their
  own, and what happens when a segment is deleted or truncated before the bytes are sent).

- v0-3 predate record batches: stored batches are down-converted to magic 0 (v0-1) or magic 1 (v2-3)
  message sets, as Kafka does (``protocol.records.down_convert``: records below the fetch offset are
  dropped from uncompressed batches, headers and transaction markers are dropped); zstd data has no
  legacy form and gets UNSUPPORTED_COMPRESSION_TYPE. Converted bytes are read, not sent with sendfile;
  beyond 64 KiB of stored bytes the conversion (which decodes every record) runs in a worker thread.

Version notes: v1 throttle time; v2 magic 1 (timestamps); v3 response-level max_bytes; v4 isolation
level, LSO, aborted transactions, magic 2; v5 log start offset; v7 sessions;
v9 current leader epoch; v11 rack id, preferred read replica; v12 flexible, last fetched epoch,
diverging epoch; v13 topic ids; v15 replica state; v16 node endpoints; v17 replica directory id.
"""

from __future__ import annotations

import asyncio

from broker.delayed import FetchParams, FetchPartitionResult, FetchPartitionSpec
from broker.dispatcher import RequestContext, handles
from broker.fetch_session import decide
from broker.handlers import _authz
from broker.handlers._partitions import DATA_PATH_ERRORS, error_code
from broker.partition import READ_COMMITTED
from broker.quotas.manager import FETCH as FETCH_QUOTA
from broker.quotas.manager import principal_name
from broker.replica_manager import ReplicaManager
from broker.zerocopy import FileBackedResponse, RecordsSplicer
from protocol.codec import encode
from protocol.errors import ErrorCode
from protocol.messages.fetch import (
    FETCH,
    AbortedTransaction,
    EpochEndOffset,
    FetchableTopicResponse,
    FetchRequest,
    FetchResponse,
    PartitionData,
)
from protocol.records import InvalidRecordBatch, UnsupportedCompressionForMagic, down_convert

TOPIC_IDS_VERSION = 13
FLEXIBLE_VERSION = 12
_EMPTY_SIZES: dict[int, int] = {}  # version -> the size of a Fetch response with no partitions
LEGACY_MAGIC_BELOW = 4  # Fetch v0-1 read magic 0, v2-3 magic 1; v4+ reads the stored batches as they are
INLINE_DOWN_CONVERT_BYTES = 64 * 1024
"""Down-conversion decodes every record: above this many stored bytes it runs in a worker thread."""


@handles(FETCH, versions="0-17")
async def handle_fetch(ctx: RequestContext, request: FetchRequest) -> FetchResponse | FileBackedResponse:
    session = decide(request.session_id, request.session_epoch)
    if session.session_missing:
        return FetchResponse(error_code=ErrorCode.FETCH_SESSION_ID_NOT_FOUND, session_id=0)
    broker = ctx.components
    replica_id = request.replica_state.replica_id if ctx.version >= 15 else request.replica_id
    max_bytes = min(request.max_bytes, broker.config.get("fetch.max.bytes"))
    quotas = broker.client_quotas if replica_id < 0 else None
    user = principal_name(_authz.principal(ctx))
    if quotas is not None and quotas.enabled(FETCH_QUOTA):  # Kafka's getMaxValueInQuotaWindow
        window_bytes = quotas.max_value_in_window(FETCH_QUOTA, user, ctx.client_id)
        if window_bytes is not None:
            max_bytes = min(max_bytes, int(window_bytes))
    else:
        quotas = None
    params = FetchParams(
        replica_id=replica_id,
        max_wait_ms=request.max_wait_ms,
        min_bytes=min(request.min_bytes, max_bytes),
        max_bytes=max_bytes,
        isolation_level=request.isolation_level,
    )
    # Decode: topic ids (v13+) to names; an unknown id is answered here, the rest is read.
    response = FetchResponse(session_id=session.session_id)
    checks = broker.authorizer is not None
    answers: list[PartitionData] = []
    wanted: list[tuple[tuple[str, int], FetchPartitionSpec]] = []
    slots: list[int] = []
    for topic in request.topics:
        name: str | None = topic.topic
        if ctx.version >= TOPIC_IDS_VERSION:
            found = broker.metadata_cache.topic_by_id(topic.topic_id)
            name = found.name if found is not None else None
        topic_answer = FetchableTopicResponse(topic=name or "", topic_id=topic.topic_id)
        response.responses.append(topic_answer)
        for part in topic.partitions:
            answer = _empty_answer(part.partition, params.isolation_level)
            topic_answer.partitions.append(answer)
            answers.append(answer)
            if name is None:
                answer.error_code = ErrorCode.UNKNOWN_TOPIC_ID
                continue
            if checks and not _authz.replica_or_topic_allowed(ctx, params.replica_id, name):
                answer.error_code = ErrorCode.TOPIC_AUTHORIZATION_FAILED
                continue
            slots.append(len(answers) - 1)
            spec = FetchPartitionSpec(
                part.fetch_offset, part.partition_max_bytes, part.current_leader_epoch, part.last_fetched_epoch
            )
            wanted.append(((name, part.partition), spec))
    results = await broker.replica_manager.fetch_messages(params, wanted)
    # From here to the splicing there is no await: the regions are opened while they are current.
    for slot, result in zip(slots, results, strict=True):
        _fill(answers[slot], result)
    if quotas is not None:
        size = sum(result.size for result in results)
        throttle = quotas.record(FETCH_QUOTA, user, ctx.client_id, size)
        if throttle > 0:  # Kafka's throttled answer: no partitions, and the bytes not counted
            quotas.unrecord(FETCH_QUOTA, user, ctx.client_id, size)
            ctx.throttle_ms = throttle
            return FetchResponse(throttle_time_ms=throttle, session_id=session.session_id)
    quota = broker.replica_manager.leader_quota
    if params.is_follower and quota is not None:
        sizes = {id(answers[slot]): result.size for slot, result in zip(slots, results, strict=True)}
        quota.record(_throttled_size(ctx.version, response, sizes, broker.replica_manager))
    splicer = RecordsSplicer()
    legacy: list[tuple[PartitionData, bytes, int]] = []
    for slot, (_, spec), result in zip(slots, wanted, results, strict=True):
        answer = answers[slot]
        if result.info is None or answer.error_code != ErrorCode.NONE:
            continue
        if ctx.version < LEGACY_MAGIC_BELOW:
            try:
                legacy.append((answer, result.info.read_bytes(), spec.fetch_offset))
            except OSError:
                _storage_error(answer)
        else:
            try:
                answer.records = splicer.records(result.info)
            except OSError:
                _storage_error(answer)
    for answer, data, fetch_offset in legacy:
        magic = 0 if ctx.version <= 1 else 1
        if len(data) > INLINE_DOWN_CONVERT_BYTES:
            await asyncio.to_thread(_fill_legacy_records, answer, data, magic, fetch_offset)
        else:
            _fill_legacy_records(answer, data, magic, fetch_offset)
    return splicer.response(response)


def _throttled_size(version: int, response: FetchResponse, sizes: dict[int, int], replicas: ReplicaManager) -> int:
    """What the leader's replication quota records for a follower's fetch (Kafka's
    ``sizeOfThrottledPartitions``): the size, length prefix included, of this Fetch response holding
    only the partitions the quota throttles here; ``sizes``: each answer's records (not yet set)."""
    quota = replicas.leader_quota
    assert quota is not None
    topics: list[FetchableTopicResponse] = []
    records = 0
    for topic in response.responses:
        kept = []
        for answer in topic.partitions:
            partition = replicas.get_partition(topic.topic, answer.partition_index)
            if partition is not None and quota.is_throttled(partition.config, answer.partition_index):
                kept.append(answer)
                size = sizes.get(id(answer), 0)  # its records field is empty here: add their bytes
                records += size + (_uvarint_size(size + 1) - 1 if version >= FLEXIBLE_VERSION else 0)
        if kept:
            topics.append(FetchableTopicResponse(topic=topic.topic, topic_id=topic.topic_id, partitions=kept))
    if not topics:
        empty = _EMPTY_SIZES.get(version)
        if empty is None:
            empty = _EMPTY_SIZES[version] = 4 + len(encode(FetchResponse(session_id=-1), version))
        return empty
    return 4 + len(encode(FetchResponse(session_id=-1, responses=topics), version)) + records


def _uvarint_size(value: int) -> int:
    return max(1, -(-value.bit_length() // 7))


def _empty_answer(index: int, isolation: int) -> PartitionData:
    return PartitionData(
        partition_index=index, error_code=ErrorCode.NONE, high_watermark=-1, last_stable_offset=-1,
        log_start_offset=-1, records=b"", aborted_transactions=[] if isolation == READ_COMMITTED else None,
    )  # fmt: skip


def _fill(answer: PartitionData, result: FetchPartitionResult) -> None:
    if result.error is not None:
        if not isinstance(result.error, DATA_PATH_ERRORS):
            raise result.error
        answer.error_code = error_code(result.error)
        return
    answer.high_watermark = result.high_watermark
    answer.last_stable_offset = result.last_stable_offset
    answer.log_start_offset = result.log_start_offset
    aborted = result.aborted_transactions
    if aborted:
        answer.aborted_transactions = [
            AbortedTransaction(producer_id=t.producer_id, first_offset=t.first_offset) for t in aborted
        ]
    if result.diverging_epoch is not None:
        answer.diverging_epoch = EpochEndOffset(epoch=result.diverging_epoch[0], end_offset=result.diverging_epoch[1])


def _storage_error(answer: PartitionData) -> None:
    answer.error_code = ErrorCode.KAFKA_STORAGE_ERROR
    answer.high_watermark = answer.last_stable_offset = answer.log_start_offset = -1
    answer.records = b""


def _fill_legacy_records(answer: PartitionData, data: bytes, magic: int, fetch_offset: int) -> None:
    """Fetch v0-3: the stored batches as a magic 0 or 1 message set (pure: may run in a worker thread)."""
    try:
        answer.records = down_convert(data, magic, first_offset=fetch_offset)
    except UnsupportedCompressionForMagic:
        answer.error_code = ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
        answer.records = b""
    except InvalidRecordBatch:
        answer.error_code = ErrorCode.CORRUPT_MESSAGE
        answer.records = b""

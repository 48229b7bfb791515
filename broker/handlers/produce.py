"""Produce (0), versions 0-11.

- acks 0: no response at all (the connection keeps the request's turn); 1: answered after the
  leader's append; -1 (all): answered when the high watermark passes the batch, waiting in the
  produce purgatory up to ``timeout_ms`` (REQUEST_TIMED_OUT after). A single broker's ISR is itself,
  so its HW moves on the append and nothing waits; replication plugs into the same wait. Any other
  acks value: INVALID_REQUIRED_ACKS for every partition, nothing appended.
- acks=-1 with fewer in-sync replicas than the topic's ``min.insync.replicas``: NOT_ENOUGH_REPLICAS
  before appending (NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrinks while waiting).
- The handler decodes, hands every partition to ``ReplicaManager.append_records`` (which finds the
  leader, validates, appends, and for acks=all waits) and maps its exceptions to error codes.
- Version rules (``_produce_checks``): v3+ must carry exactly one magic-2 batch per partition
  (INVALID_RECORD); zstd needs v7+ (UNSUPPORTED_COMPRESSION_TYPE). v0-2 may carry legacy magic 0/1
  message sets, converted to one v2 batch by storage's validator (``storage.log._validate``), which
  also checks the rest: client batches must have a consistent count and offset range, no control
  flag, and a sequence when they carry a producer id (INVALID_RECORD); compacted topics refuse
  records without a key (INVALID_RECORD); a batch the broker must decode may hold at most
  1,000,000 records (INVALID_RECORD), decoded in a worker thread beyond a few thousand. Batches of
  ordinary topics stay opaque: only their headers are read.
- Storage errors per partition: CORRUPT_MESSAGE (CRC, framing), MESSAGE_TOO_LARGE (batch over the
  topic's ``max.message.bytes``), RECORD_LIST_TOO_LARGE (records over ``segment.bytes``),
  INVALID_TIMESTAMP, KAFKA_STORAGE_ERROR; idempotence: OUT_OF_ORDER_SEQUENCE_NUMBER,
  INVALID_PRODUCER_EPOCH; a duplicate batch is answered NONE with the offsets it was first written at.
- Internal topics refuse client writes (INVALID_TOPIC_EXCEPTION), as do invalid topic names;
  unknown topics UNKNOWN_TOPIC_OR_PARTITION. Produce never creates topics.
- Answers: base_offset, log_append_time_ms (-1 unless the topic uses LogAppendTime, v2+),
  log_start_offset (v5+), error_message (v8+) where Kafka gives one; errors carry -1 offsets.
- record_errors (v8+, KIP-467): an INVALID_RECORD that a record's rule caused (a compacted topic's
  record without a key) names every such record by its index in the batch, with its message;
  librdkafka then fails those with INVALID_RECORD and the rest of the batch with
  ``_INVALID_DIFFERENT_RECORD``. Older versions get the error code only.
- acks=0 and any partition error: no response, and the connection closes (after the responses
  before it), as Kafka does, so the producer refreshes its metadata.

- Client quotas: the request's bytes count against the connection's ``producer_byte_rate``
  (``broker.quotas``); over it, the answer carries the throttle time and the connection is muted
  that long (for acks=0 too, with no answer).

Version notes: v1 throttle time; v2 log append time; v3 transactional id and magic 2 only; v5 log
start offset; v7 zstd; v8 record errors and error message; v9 flexible; v10 current leader and node
endpoints (tagged, for NOT_LEADER_OR_FOLLOWER: never sent by a single broker); v11 same as v10.

Not done yet: topic ``compression.type`` other than ``producer`` is not applied (no recompression).
Transactional batches (v3+) are verified against the producer's open transaction first
(KIP-890 part 1, ``transaction.partition.verification.enable``, ``handlers/_transactions.py``):
a partition not added to it gets INVALID_TXN_STATE (TRANSACTION_ABORTABLE v11+).
"""

from __future__ import annotations

from broker.dispatcher import CloseConnection, RequestContext, handles
from broker.handlers import _authz
from broker.handlers._partitions import DATA_PATH_ERRORS, PartitionError, error_code
from broker.handlers._produce_checks import check_produce_records
from broker.handlers._transactions import unverified_produce, verify_remotely
from broker.quotas.manager import PRODUCE as PRODUCE_QUOTA
from broker.quotas.manager import principal_name
from broker.replica_manager import AppendResult
from protocol.errors import ErrorCode
from protocol.messages.produce import (
    PRODUCE,
    BatchIndexAndErrorMessage,
    PartitionProduceResponse,
    ProduceRequest,
    ProduceResponse,
    TopicProduceResponse,
)
from storage.errors import InvalidRecord

_MESSAGE_CODES = (ErrorCode.INVALID_RECORD, ErrorCode.INVALID_TIMESTAMP)

Buffer = bytes | bytearray | memoryview


@handles(PRODUCE, versions="0-11")
async def handle_produce(ctx: RequestContext, request: ProduceRequest) -> ProduceResponse | None:
    entries: dict[tuple[str, int], Buffer] = {}
    refused: dict[tuple[str, int], PartitionError] = {}
    remote: dict[tuple[str, int], tuple[int, int]] = {}  # to verify with the coordinating broker
    checks = ctx.components.authorizer is not None
    for topic_data in request.topic_data:
        for data in topic_data.partition_data:
            key = (topic_data.name, data.index)
            if checks and (denied := _authz.produce_denied(ctx, request.transactional_id, topic_data.name)):
                refused[key] = denied
                continue
            try:
                entries[key] = check_produce_records(data.records, ctx.version)
                if (producer := unverified_produce(ctx, request.transactional_id, key, entries[key])) is not None:
                    remote[key] = producer
            except PartitionError as exc:
                refused[key] = exc
    if remote and request.transactional_id is not None:
        refused.update(await verify_remotely(ctx, request.transactional_id, remote))
    results = await ctx.components.replica_manager.append_records(
        {k: v for k, v in entries.items() if k not in refused} if refused else entries,
        required_acks=request.acks,
        timeout_ms=request.timeout_ms,
    )
    response = ProduceResponse()
    for topic_data in request.topic_data:
        topic_response = TopicProduceResponse(name=topic_data.name)
        response.responses.append(topic_response)
        for data in topic_data.partition_data:
            key = (topic_data.name, data.index)
            answer = PartitionProduceResponse(index=data.index, base_offset=-1, log_append_time_ms=-1)
            _fill(answer, results.get(key) or AppendResult(None, refused[key]))
            topic_response.partition_responses.append(answer)
    response.throttle_time_ms = _record_quota(ctx)
    if request.acks == 0:
        failed = [
            f"{topic.name}-{answer.index}: {ErrorCode(answer.error_code).name}"
            for topic in response.responses
            for answer in topic.partition_responses
            if answer.error_code != ErrorCode.NONE
        ]
        if failed:
            raise CloseConnection(f"acks=0 produce failed ({', '.join(failed)}); the producer must refresh metadata")
        return None
    return response


def _record_quota(ctx: RequestContext) -> int:
    """The request's bytes against the connection's ``producer_byte_rate``: the throttle time (ms),
    which also mutes the connection that long (``broker.quotas``)."""
    quotas = ctx.components.client_quotas
    if quotas is None or not quotas.enabled(PRODUCE_QUOTA):
        return 0
    user = principal_name(_authz.principal(ctx))
    ctx.throttle_ms = max(ctx.throttle_ms, quotas.record(PRODUCE_QUOTA, user, ctx.client_id, ctx.request_size))
    return ctx.throttle_ms


def _fill(answer: PartitionProduceResponse, result: AppendResult) -> None:
    info, error = result
    if info is not None:
        answer.base_offset = info.first_offset
        answer.log_append_time_ms = info.log_append_time
        answer.log_start_offset = info.log_start_offset
    if error is None:
        return
    if not isinstance(error, DATA_PATH_ERRORS):
        raise error
    answer.error_code = error_code(error)
    if answer.error_code in _MESSAGE_CODES:
        answer.error_message = error.message if isinstance(error, PartitionError) else str(error)
    if isinstance(error, InvalidRecord):
        answer.record_errors = [
            BatchIndexAndErrorMessage(batch_index=index, batch_index_error_message=message)
            for index, message in error.record_errors
        ]

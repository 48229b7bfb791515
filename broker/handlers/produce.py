"""Produce (0), versions 0-11.

- acks 0: no response at all (the connection keeps the request's turn); 1: answered after the
  leader's append; -1 (all): answered when the high watermark passes the batch, waiting in the
  produce purgatory up to ``timeout_ms`` (REQUEST_TIMED_OUT after). A single broker's ISR is itself,
  so its HW moves on the append and nothing waits; replication plugs into the same wait. Any other
  acks value: INVALID_REQUIRED_ACKS for every partition, nothing appended.
- acks=-1 with fewer in-sync replicas than the topic's ``min.insync.replicas``: NOT_ENOUGH_REPLICAS
  before appending (NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrinks while waiting).
- Records stay opaque: only batch headers are read (``_produce_checks``). v0-2 may carry legacy
  magic 0/1 message sets, converted to one v2 batch; v3+ must carry exactly one magic-2 batch per
  partition (INVALID_RECORD); zstd needs v7+ (UNSUPPORTED_COMPRESSION_TYPE). Client batches must have
  a consistent count and offset range, no control flag, and a sequence when they carry a producer id
  (INVALID_RECORD). Compacted topics refuse records without a key (INVALID_RECORD).
- Storage errors per partition: CORRUPT_MESSAGE (CRC, framing), MESSAGE_TOO_LARGE (batch over the
  topic's ``max.message.bytes``), RECORD_LIST_TOO_LARGE (records over ``segment.bytes``),
  INVALID_TIMESTAMP, KAFKA_STORAGE_ERROR; idempotence: OUT_OF_ORDER_SEQUENCE_NUMBER,
  INVALID_PRODUCER_EPOCH; a duplicate batch is answered NONE with the offsets it was first written at.
- Internal topics refuse client writes (INVALID_TOPIC_EXCEPTION), as do invalid topic names;
  unknown topics UNKNOWN_TOPIC_OR_PARTITION. Produce never creates topics.
- Answers: base_offset, log_append_time_ms (-1 unless the topic uses LogAppendTime, v2+),
  log_start_offset (v5+), error_message (v8+) where Kafka gives one; errors carry -1 offsets.
- acks=0 and any partition error: no response, and the connection closes (after the responses
  before it), as Kafka does, so the producer refreshes its metadata.

Version notes: v1 throttle time; v2 log append time; v3 transactional id and magic 2 only; v5 log
start offset; v7 zstd; v8 record errors and error message; v9 flexible; v10 current leader and node
endpoints (tagged, for NOT_LEADER_OR_FOLLOWER: never sent by a single broker); v11 same as v10.

Not done yet: topic ``compression.type`` other than ``producer`` is not applied (no recompression).
Transactional batches wait for the transaction coordinator.
"""

from __future__ import annotations

from broker.dispatcher import CloseConnection, RequestContext, handles
from broker.handlers._partitions import DATA_PATH_ERRORS, PartitionError, error_code, leader_partition
from broker.handlers._produce_checks import prepare_records
from broker.partition import Partition
from broker.topics import INTERNAL_TOPICS, InvalidTopic, validate_topic_name
from protocol.errors import ErrorCode
from protocol.messages.produce import (
    PRODUCE,
    PartitionProduceData,
    PartitionProduceResponse,
    ProduceRequest,
    ProduceResponse,
    TopicProduceResponse,
)

VALID_ACKS = (-1, 0, 1)
_MESSAGE_CODES = (ErrorCode.INVALID_RECORD, ErrorCode.INVALID_TIMESTAMP)


@handles(PRODUCE, versions="0-11")
async def handle_produce(ctx: RequestContext, request: ProduceRequest) -> ProduceResponse | None:
    response = ProduceResponse()
    waiting: list[tuple[Partition, int, PartitionProduceResponse]] = []
    for topic_data in request.topic_data:
        topic_response = TopicProduceResponse(name=topic_data.name)
        response.responses.append(topic_response)
        for data in topic_data.partition_data:
            answer = PartitionProduceResponse(index=data.index, base_offset=-1, log_append_time_ms=-1)
            topic_response.partition_responses.append(answer)
            if request.acks not in VALID_ACKS:
                answer.error_code = ErrorCode.INVALID_REQUIRED_ACKS
                continue
            appended = _append(ctx, request, topic_data.name, data, answer)
            if appended is not None and request.acks == -1:
                waiting.append((*appended, answer))
    if waiting:
        required = [(p, offset) for p, offset, _ in waiting]
        outcomes = await ctx.broker.replica_manager.wait_for_acks(required, request.timeout_ms)
        for (_, _, answer), outcome in zip(waiting, outcomes, strict=True):
            if outcome is None:
                answer.error_code = ErrorCode.REQUEST_TIMED_OUT
            elif outcome is False:
                answer.error_code = ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
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


def _append(
    ctx: RequestContext,
    request: ProduceRequest,
    topic: str,
    data: PartitionProduceData,
    answer: PartitionProduceResponse,
) -> tuple[Partition, int] | None:
    """Append one partition's records, filling ``answer``. When something was appended: the partition
    and the high watermark an acks=all produce waits for (one past the batch, a duplicate's original)."""
    partition: Partition | None = None
    try:
        try:
            validate_topic_name(topic)
        except InvalidTopic as exc:
            raise PartitionError(ErrorCode.INVALID_TOPIC_EXCEPTION, str(exc)) from None
        partition = leader_partition(ctx.broker, topic, data.index)
        if topic in INTERNAL_TOPICS:
            raise PartitionError(ErrorCode.INVALID_TOPIC_EXCEPTION, f"Cannot append to internal topic {topic}")
        config = partition.log.config
        records = prepare_records(data.records, ctx.version, config.compact_enabled)
        if len(records) > config.segment_bytes:
            raise PartitionError(
                ErrorCode.RECORD_LIST_TOO_LARGE,
                f"Message batch size is {len(records)} bytes in append to partition {topic}-{data.index} which "
                f"exceeds the maximum configured segment size of {config.segment_bytes}.",
            )
        info = partition.append_as_leader(records, request.acks)
    except DATA_PATH_ERRORS as exc:
        answer.error_code = error_code(exc)
        if answer.error_code in _MESSAGE_CODES:
            answer.error_message = exc.message if isinstance(exc, PartitionError) else str(exc)
        if partition is not None:
            answer.log_start_offset = partition.log_start_offset
        return None
    answer.base_offset = info.first_offset
    answer.log_append_time_ms = info.log_append_time
    answer.log_start_offset = info.log_start_offset
    if info.first_offset < 0:
        return None
    answer.error_code = ErrorCode.NONE
    ctx.broker.replica_manager.on_append(partition)
    return partition, info.last_offset + 1

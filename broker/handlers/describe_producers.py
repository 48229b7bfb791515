"""DescribeProducers (61), version 0 (flexible): the active producers of partitions this broker leads.

As Kafka's ``ReplicaManager.activeProducerState``: per partition asked for, every producer id in the
partition's producer state (idempotent and transactional alike, until producer.id.expiration.ms
forgets it) with its epoch, last sequence, last batch timestamp, coordinator epoch and the first
offset of its open transaction (-1: none). This is what ``kafka-transactions.sh find-hanging`` and
``describe-producers`` read.

Errors per partition: UNKNOWN_TOPIC_OR_PARTITION (no such topic or partition), NOT_LEADER_OR_FOLLOWER
(not led here), KAFKA_STORAGE_ERROR (its log is offline). No authorizer: nothing is
TOPIC_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._partitions import DATA_PATH_ERRORS, error_code, leader_partition
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.describe_producers import (
    DESCRIBE_PRODUCERS,
    DescribeProducersRequest,
    DescribeProducersResponse,
    PartitionResponse,
    ProducerState,
    TopicResponse,
)
from storage.errors import LogOffline


@handles(DESCRIBE_PRODUCERS, versions="0")
async def handle_describe_producers(
    ctx: RequestContext, request: DescribeProducersRequest
) -> DescribeProducersResponse:
    response = DescribeProducersResponse()
    for topic in request.topics:
        answer = TopicResponse(name=topic.name)
        response.topics.append(answer)
        denied = not _authz.allowed(ctx, RT.TOPIC, topic.name)
        for index in topic.partition_indexes:
            part = PartitionResponse(partition_index=index, error_code=ErrorCode.NONE)
            answer.partitions.append(part)
            if denied:
                part.error_code = ErrorCode.TOPIC_AUTHORIZATION_FAILED
                continue
            try:
                log = leader_partition(ctx.components, topic.name, index).log
                if log.offline:
                    raise LogOffline(log.name, "log is offline")
                producers = list(log.producer_state.active_producers().values())
            except DATA_PATH_ERRORS as exc:
                part.error_code = error_code(exc)
                continue
            part.active_producers = [
                ProducerState(
                    producer_id=entry.producer_id,
                    producer_epoch=entry.producer_epoch,
                    last_sequence=entry.last_seq,
                    last_timestamp=entry.last_timestamp,
                    coordinator_epoch=entry.coordinator_epoch,
                    current_txn_start_offset=-1
                    if entry.current_txn_first_offset is None
                    else entry.current_txn_first_offset,
                )
                for entry in sorted(producers, key=lambda e: e.producer_id)
            ]
    return response

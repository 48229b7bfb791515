"""WriteTxnMarkers (27), versions 0-1: the inter-broker path of transaction markers.

A transaction coordinator on another broker asks this one, as the leader of some of the
transaction's partitions, to write COMMIT/ABORT markers (``coordinator.transaction.markers``: the
same code the local coordinator uses, through ``ReplicaManager.append_records`` with
``origin=AppendOrigin.COORDINATOR``, acks=all). Per partition: NONE once the marker is committed;
NOT_LEADER_OR_FOLLOWER / UNKNOWN_TOPIC_OR_PARTITION where this broker is not the leader (the
coordinator retries); INVALID_PRODUCER_EPOCH for a marker of an older epoch than the partition
has seen; TRANSACTION_COORDINATOR_FENCED for an older coordinator epoch. A committed marker of
``__consumer_offsets`` applies (or drops) the transaction's pending offsets in the group coordinator.

The markers of one request are written at once (one slow marker, waiting for its acks, holds up
no other), as Kafka appends them.

Version notes: v1 flexible.
"""

from __future__ import annotations

import asyncio

from broker.coordinator.transaction.markers import write_markers
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._partitions import PartitionError, error_code
from protocol.errors import ErrorCode
from protocol.messages.write_txn_markers import (
    WRITE_TXN_MARKERS,
    WritableTxnMarkerPartitionResult,
    WritableTxnMarkerResult,
    WritableTxnMarkerTopicResult,
    WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
)


@handles(WRITE_TXN_MARKERS, versions="0-1")
async def handle_write_txn_markers(ctx: RequestContext, request: WriteTxnMarkersRequest) -> WriteTxnMarkersResponse:
    response = WriteTxnMarkersResponse()
    groups = ctx.components.group_coordinator.coordinator
    allowed = _authz.cluster_allowed(ctx)
    wanted = [{(t.name, p) for t in marker.topics for p in t.partition_indexes} for marker in request.markers]
    if allowed:  # all at once, as Kafka appends them: one marker waiting for its acks holds up no other
        written = await asyncio.gather(*(
            write_markers(
                ctx.components.replica_manager, groups, marker.producer_id, marker.producer_epoch,
                marker.coordinator_epoch, marker.transaction_result, partitions,
            )
            for marker, partitions in zip(request.markers, wanted, strict=True)
        ))  # fmt: skip
    else:
        written = [dict.fromkeys(partitions, _NOT_AUTHORIZED) for partitions in wanted]
    for marker, results in zip(request.markers, written, strict=True):
        topics = [
            WritableTxnMarkerTopicResult(
                name=t.name,
                partitions=[
                    WritableTxnMarkerPartitionResult(partition_index=p, error_code=_code(results.get((t.name, p))))
                    for p in t.partition_indexes
                ],
            )
            for t in marker.topics
        ]
        response.markers.append(WritableTxnMarkerResult(producer_id=marker.producer_id, topics=topics))
    return response


_NOT_AUTHORIZED = PartitionError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)


def _code(error: BaseException | None) -> ErrorCode:
    return ErrorCode.NONE if error is None else error_code(error)

"""TxnOffsetCommit (28), versions 0-4.

Offsets committed inside a transaction: the group coordinator checks the commit as OffsetCommit
does (v3+: member id, generation, group instance id: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
FENCED_INSTANCE_ID; before v3, or generation -1 with no member, a simple commit), appends the
offsets as the producer's transactional batch to the group's ``__consumer_offsets`` partition and
answers once it is committed. The offsets stay pending (OffsetFetch does not show them) until the
transaction's marker reaches that partition: COMMIT applies them, ABORT drops them.

KIP-890 (``transaction.partition.verification.enable``): the group's ``__consumer_offsets`` partition
must be in the producer's open transaction (AddOffsetsToTxn), else INVALID_TXN_STATE
(TRANSACTION_ABORTABLE v4+) for every partition, so no offsets are left in a transaction that no
marker would ever end.

Per partition: UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist,
OFFSET_METADATA_TOO_LARGE; NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS /
COORDINATOR_NOT_AVAILABLE for every partition as OffsetCommit.

Version notes: v2 committed leader epoch; v3 member id, generation, instance id; v3 flexible; v4
TRANSACTION_ABORTABLE (never answered here).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from broker.coordinator.group.group import OffsetAndMetadata
from broker.coordinator.group.store import OFFSETS_TOPIC
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._groups import Completion, TopicPartition, coordinator, offsets_to_commit, offsets_topic_ready
from broker.handlers._transactions import verify_in_transaction
from protocol.errors import ErrorCode
from protocol.messages.txn_offset_commit import (
    TXN_OFFSET_COMMIT,
    TxnOffsetCommitRequest,
    TxnOffsetCommitRequestPartition,
    TxnOffsetCommitResponse,
    TxnOffsetCommitResponsePartition,
    TxnOffsetCommitResponseTopic,
)

ABORTABLE_VERSION = 4  # TRANSACTION_ABORTABLE (KIP-890)


@handles(TXN_OFFSET_COMMIT, versions="0-4")
async def handle_txn_offset_commit(ctx: RequestContext, request: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse:
    if (refused := _authz.txn_offsets_denied(ctx, request.transactional_id, request.group_id)) is not None:
        return _answer(request, lambda tp: refused)
    if not await offsets_topic_ready(ctx):
        return _answer(request, lambda tp: ErrorCode.COORDINATOR_NOT_AVAILABLE)
    now = int(time.time() * 1000)

    def offset(p: TxnOffsetCommitRequestPartition) -> OffsetAndMetadata:
        return OffsetAndMetadata(
            offset=p.committed_offset,
            leader_epoch=p.committed_leader_epoch if ctx.version >= 2 else -1,
            metadata=p.committed_metadata or "",
            commit_timestamp=now,
            expire_timestamp=-1,
        )

    errors, offsets = offsets_to_commit(ctx, request.topics, offset)
    if offsets:
        index = ctx.components.group_coordinator.offsets_topic.partition_for(request.group_id)
        unverified = verify_in_transaction(
            ctx, request.transactional_id, request.producer_id, request.producer_epoch, (OFFSETS_TOPIC, index)
        )
        if unverified is not ErrorCode.NONE:  # AddOffsetsToTxn first, or the offsets would hang
            if unverified is ErrorCode.INVALID_TXN_STATE and ctx.version >= ABORTABLE_VERSION:
                unverified = ErrorCode.TRANSACTION_ABORTABLE
            errors.update(dict.fromkeys(offsets, unverified))
            offsets = {}
    if offsets:
        done: Completion[dict[TopicPartition, ErrorCode]] = Completion()
        v3 = ctx.version >= 3
        coordinator(ctx).commit_offsets(
            request.group_id,
            request.member_id if v3 else "",
            request.group_instance_id if v3 else None,
            request.generation_id if v3 else -1,
            offsets,
            done.set,
            producer=(request.producer_id, request.producer_epoch),
        )
        errors.update(await done)
    return _answer(request, errors.__getitem__)


def _answer(request: TxnOffsetCommitRequest, error: Callable[[TopicPartition], ErrorCode]) -> TxnOffsetCommitResponse:
    return TxnOffsetCommitResponse(
        topics=[
            TxnOffsetCommitResponseTopic(
                name=topic.name,
                partitions=[
                    TxnOffsetCommitResponsePartition(
                        partition_index=p.partition_index, error_code=error((topic.name, p.partition_index))
                    )
                    for p in topic.partitions
                ],
            )
            for topic in request.topics
        ]
    )

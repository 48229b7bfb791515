"""DescribeTransactions (65), version 0 (``kafka-transactions.sh describe``).

Per transactional id: its state (Kafka's names: Empty, Ongoing, PrepareCommit, ...), timeout,
start time of the open transaction (-1 without one), producer id and epoch, and the partitions of
the open transaction. TRANSACTIONAL_ID_NOT_FOUND for an id this coordinator does not know;
NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS when this broker does not own, or is loading, its
``__transaction_state`` partition.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._transactions import txn_coordinator
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.describe_transactions import (
    DESCRIBE_TRANSACTIONS,
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
    TopicData,
    TransactionState,
)


@handles(DESCRIBE_TRANSACTIONS, versions="0")
async def handle_describe_transactions(
    ctx: RequestContext, request: DescribeTransactionsRequest
) -> DescribeTransactionsResponse:
    response = DescribeTransactionsResponse()
    for txn_id in request.transactional_ids:
        if not _authz.allowed(ctx, RT.TRANSACTIONAL_ID, txn_id):
            response.transaction_states.append(
                TransactionState(error_code=ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, transactional_id=txn_id)
            )
            continue
        d = txn_coordinator(ctx).describe(txn_id)
        by_topic: dict[str, list[int]] = {}
        for topic, index in d.partitions:
            by_topic.setdefault(topic, []).append(index)
        response.transaction_states.append(
            TransactionState(
                error_code=d.error,
                transactional_id=txn_id,
                transaction_state=d.state,
                transaction_timeout_ms=d.timeout_ms,
                transaction_start_time_ms=d.start_ms,
                producer_id=d.producer_id,
                producer_epoch=d.producer_epoch,
                topics=[TopicData(topic=t, partitions=p) for t, p in by_topic.items()],
            )
        )
    return response

"""AddPartitionsToTxn (24), versions 0-5.

- v0-3 (clients): one transaction at top level; its partitions join the producer's transaction
  (Ongoing), answered once that is committed in ``__transaction_state``. Partitions of unknown
  topics (or beyond a topic's count) get UNKNOWN_TOPIC_OR_PARTITION and the others
  OPERATION_NOT_ATTEMPTED, nothing added, as Kafka does. Otherwise one code for every partition:
  INVALID_PRODUCER_ID_MAPPING (unknown id or another producer id), PRODUCER_FENCED (another epoch;
  INVALID_PRODUCER_EPOCH before v2), CONCURRENT_TRANSACTIONS (a change or the markers of the
  previous transaction in flight), NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS.
- v4+ (brokers, KIP-890): a batch of transactions, one result each. ``verify_only``: nothing is
  added; each partition is NONE if it is in the producer's open transaction, else INVALID_TXN_STATE
  (a transaction-wide error is given to every partition). Without it, as v0-3 per transaction.

Version notes: v2 PRODUCER_FENCED; v3 flexible; v4 batched and verify-only; v5 same as v4 (it may
carry TRANSACTION_ABORTABLE, never answered here).
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._transactions import for_version, txn_coordinator
from protocol.errors import ErrorCode
from protocol.messages.add_partitions_to_txn import (
    ADD_PARTITIONS_TO_TXN,
    AddPartitionsToTxnPartitionResult,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    AddPartitionsToTxnResult,
    AddPartitionsToTxnTopic,
    AddPartitionsToTxnTopicResult,
)

PRODUCER_FENCED_VERSION = 2
TopicPartition = tuple[str, int]


@handles(ADD_PARTITIONS_TO_TXN, versions="0-5")
async def handle_add_partitions_to_txn(
    ctx: RequestContext, request: AddPartitionsToTxnRequest
) -> AddPartitionsToTxnResponse:
    if ctx.version <= 3:
        errors = await _add(
            ctx, request.v3_and_below_transactional_id, request.v3_and_below_producer_id,
            request.v3_and_below_producer_epoch, request.v3_and_below_topics, verify_only=False,
        )  # fmt: skip
        return AddPartitionsToTxnResponse(results_by_topic_v3_and_below=_results(errors))
    if not _authz.cluster_allowed(ctx):  # v4+ is the brokers' (KIP-890): CLUSTER_ACTION on the cluster
        return AddPartitionsToTxnResponse(error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    response = AddPartitionsToTxnResponse()
    for txn in request.transactions:
        errors = await _add(
            ctx, txn.transactional_id, txn.producer_id, txn.producer_epoch, txn.topics, verify_only=txn.verify_only
        )
        response.results_by_transaction.append(
            AddPartitionsToTxnResult(transactional_id=txn.transactional_id, topic_results=_results(errors))
        )
    return response


async def _add(
    ctx: RequestContext,
    txn_id: str,
    producer_id: int,
    epoch: int,
    topics: list[AddPartitionsToTxnTopic],
    verify_only: bool,
) -> dict[TopicPartition, ErrorCode]:
    wanted = [(t.name, p) for t in topics for p in t.partitions]
    if (denied := _authz.txn_partitions_denied(ctx, txn_id, wanted)) is not None:
        return denied
    coordinator = txn_coordinator(ctx)
    if verify_only:
        error, per_partition = coordinator.verify_partitions(txn_id, producer_id, epoch, wanted)
        if error is not ErrorCode.NONE:
            return dict.fromkeys(wanted, for_version(error, ctx.version, PRODUCER_FENCED_VERSION))
        return per_partition
    cache = ctx.components.metadata_cache
    unknown = set()
    for topic, index in wanted:
        count = cache.num_partitions(topic)
        if count is None or not 0 <= index < count:
            unknown.add((topic, index))
    if unknown:
        return {
            tp: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION if tp in unknown else ErrorCode.OPERATION_NOT_ATTEMPTED
            for tp in wanted
        }
    code = await coordinator.add_partitions(txn_id, producer_id, epoch, set(wanted))
    return dict.fromkeys(wanted, for_version(code, ctx.version, PRODUCER_FENCED_VERSION))


def _results(errors: dict[TopicPartition, ErrorCode]) -> list[AddPartitionsToTxnTopicResult]:
    by_topic: dict[str, list[AddPartitionsToTxnPartitionResult]] = {}
    for (topic, index), code in errors.items():
        by_topic.setdefault(topic, []).append(
            AddPartitionsToTxnPartitionResult(partition_index=index, partition_error_code=code)
        )
    return [AddPartitionsToTxnTopicResult(name=t, results_by_partition=r) for t, r in by_topic.items()]

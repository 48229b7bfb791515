"""What the transaction handlers share: reaching the coordinator, and the error codes an older
request version understands.

PRODUCER_FENCED (90) exists from InitProducerId v4 and AddPartitionsToTxn, AddOffsetsToTxn and
EndTxn v2; older versions get INVALID_PRODUCER_EPOCH (47), as Kafka answers them.

``unverified_produce`` and ``verify_remotely`` are the Produce handler's check of KIP-890 part 1
(partition verification), in place or with the coordinating broker.
"""

from __future__ import annotations

from broker.coordinator.transaction.coordinator import TransactionCoordinator
from broker.dispatcher import RequestContext
from broker.handlers._partitions import PartitionError
from protocol.errors import ErrorCode
from protocol.records import InvalidRecordBatch, read_header
from protocol.records.header import HEADER_SIZE

Buffer = bytes | bytearray | memoryview


def txn_coordinator(ctx: RequestContext) -> TransactionCoordinator:
    return ctx.components.transaction_coordinator.coordinator


def for_version(code: ErrorCode, version: int, fenced_since: int) -> ErrorCode:
    """``code`` as a request of ``version`` may carry it (PRODUCER_FENCED from ``fenced_since``)."""
    if code is ErrorCode.PRODUCER_FENCED and version < fenced_since:
        return ErrorCode.INVALID_PRODUCER_EPOCH
    return code


ABORTABLE_PRODUCE_VERSION = 11  # Produce v11+ understands TRANSACTION_ABORTABLE (KIP-890)


def unverified_produce(
    ctx: RequestContext, transactional_id: str | None, key: tuple[str, int], records: Buffer
) -> tuple[int, int] | None:
    """KIP-890 part 1 (``transaction.partition.verification.enable``): a transactional batch may be
    written only to a partition already in its producer's open transaction. Raises the partition's
    PartitionError otherwise: INVALID_TXN_STATE (TRANSACTION_ABORTABLE for Produce v11+), or the
    producer's own error (PRODUCER_FENCED as INVALID_PRODUCER_EPOCH, INVALID_PRODUCER_ID_MAPPING).
    The coordinator is asked in place when it is this broker. When another broker coordinates the id
    (cluster mode) the batch's (producer id, epoch) is returned for ``verify_remotely``, unless the
    partition already holds this producer's open transaction at this epoch (verified with its first
    batch, as Kafka skips it); while this broker loads the id nothing is checked."""
    service = ctx.components.transaction_coordinator
    if not service.config.partition_verification or transactional_id is None or len(records) < HEADER_SIZE:
        return None
    try:
        header = read_header(records)
    except InvalidRecordBatch:
        return None  # storage reports it
    if not header.is_transactional or header.is_control:
        return None
    error, _ = service.coordinator.verify_partitions(transactional_id, header.producer_id, header.producer_epoch, [])
    if error is ErrorCode.NOT_COORDINATOR and service.channel is not None:
        partition = ctx.components.replica_manager.get_partition(*key)
        entry = partition.log.producer_state.last_entry(header.producer_id) if partition is not None else None
        if entry is None or entry.producer_epoch != header.producer_epoch or entry.current_txn_first_offset is None:
            return header.producer_id, header.producer_epoch
        return None
    code = verify_in_transaction(ctx, transactional_id, header.producer_id, header.producer_epoch, key)
    _raise_unverified(ctx, code, transactional_id, key)
    return None


async def verify_remotely(
    ctx: RequestContext, transactional_id: str, batches: dict[tuple[str, int], tuple[int, int]]
) -> dict[tuple[str, int], PartitionError]:
    """The partitions of ``batches`` (from ``unverified_produce``) their coordinator does not confirm,
    with the partition error to answer: one AddPartitionsToTxn (verify only) per producer id and epoch."""
    by_producer: dict[tuple[int, int], list[tuple[str, int]]] = {}
    for key, producer in batches.items():
        by_producer.setdefault(producer, []).append(key)
    refused: dict[tuple[str, int], PartitionError] = {}
    service = ctx.components.transaction_coordinator
    for (producer_id, epoch), keys in by_producer.items():
        codes = await service.verify_remotely(transactional_id, producer_id, epoch, keys)
        for key, code in codes.items():
            if code is ErrorCode.PRODUCER_FENCED:
                code = ErrorCode.INVALID_PRODUCER_EPOCH
            elif code is ErrorCode.TRANSACTION_ABORTABLE:
                code = ErrorCode.INVALID_TXN_STATE
            try:
                _raise_unverified(ctx, code, transactional_id, key)
            except PartitionError as exc:
                refused[key] = exc
    return refused


def _raise_unverified(ctx: RequestContext, code: ErrorCode, transactional_id: str, key: tuple[str, int]) -> None:
    if code is ErrorCode.INVALID_TXN_STATE and ctx.version >= ABORTABLE_PRODUCE_VERSION:
        code = ErrorCode.TRANSACTION_ABORTABLE
    if code is not ErrorCode.NONE:
        raise PartitionError(
            code, f"transactional records for {key[0]}-{key[1]} of {transactional_id} failed verification"
        )


def verify_in_transaction(
    ctx: RequestContext, transactional_id: str, producer_id: int, epoch: int, key: tuple[str, int]
) -> ErrorCode:
    """NONE if ``key`` is in the producer's open transaction (or verification is off, or another
    broker coordinates the id: not checked here yet); else INVALID_TXN_STATE, INVALID_PRODUCER_EPOCH
    or INVALID_PRODUCER_ID_MAPPING."""
    service = ctx.components.transaction_coordinator
    if not service.config.partition_verification:
        return ErrorCode.NONE
    error, per_partition = service.coordinator.verify_partitions(transactional_id, producer_id, epoch, [key])
    if error in (ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS):
        return ErrorCode.NONE
    if error is ErrorCode.PRODUCER_FENCED:
        return ErrorCode.INVALID_PRODUCER_EPOCH
    return error if error is not ErrorCode.NONE else per_partition.get(key, ErrorCode.NONE)

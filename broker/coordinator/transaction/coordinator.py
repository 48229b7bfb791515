"""The transaction coordinator's state machine (Kafka's TransactionCoordinator): what InitProducerId,
AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and the admin requests do to transactional ids.

    coordinator = TransactionCoordinator(config, log, producer_ids, markers, ownership, now_ms)
    error, producer_id, epoch = await coordinator.init_producer_id(txn_id, timeout_ms, -1, -1)
    error = await coordinator.add_partitions(txn_id, producer_id, epoch, {("t", 0)})
    error = await coordinator.end_transaction(txn_id, producer_id, epoch, commit=True)
    error, producer_id, epoch = await coordinator.end_transaction_bumped(txn_id, producer_id, epoch, True)  # v5

Every change is prepared (``TransactionMetadata.prepare_*``), written to ``__transaction_state``
(``TxnStateWriter``) and applied once committed; while a write is in flight for an id, its other
requests get CONCURRENT_TRANSACTIONS. EndTxn answers once PrepareCommit/PrepareAbort is committed;
the markers are then written to every partition of the transaction (``MarkerSender``, retried while
their partitions have no leader) and CompleteCommit/CompleteAbort is written after them. Requests
meanwhile get CONCURRENT_TRANSACTIONS (clients retry). A leader refusing a marker for an older
producer or coordinator epoch (INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED) means the
transaction was taken over elsewhere: as in Kafka, no more markers are sent and nothing is written.

Fencing: InitProducerId for an id with an open transaction bumps the epoch (PrepareEpochFence, in
memory), aborts the transaction at the new epoch and answers CONCURRENT_TRANSACTIONS; the retry bumps
the epoch again. The old producer's requests then fail with PRODUCER_FENCED (handlers send
INVALID_PRODUCER_EPOCH to versions before it existed). A transaction open longer than its timeout
is aborted the same way (``abort_timed_out``). Ids idle in a completed state longer than
``transactional.id.expiration.ms`` are removed with a tombstone (``expire_ids``).

Ownership of the ids of each ``__transaction_state`` partition (loaded, loading, or not this
broker's) is ``group.ownership.Ownership``; ``install`` and ``unload_partition`` are called by the
service on leadership changes. Not thread-safe: the event loop owns it; state changes never straddle
an await (each write re-checks that its id is still the one it prepared).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from broker.coordinator.group.ownership import Ownership
from broker.coordinator.producer_id import ProducerIdManager
from broker.coordinator.transaction import records
from broker.coordinator.transaction.config import TransactionConfig
from broker.coordinator.transaction.marker_channel import MarkerError
from broker.coordinator.transaction.metadata import (
    MAX_EPOCH,
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    TransactionMetadata,
    TxnTransit,
)
from broker.coordinator.transaction.state import COMPLETED, PREPARING, TxnState
from broker.delayed import RequestTimedOut
from broker.partition import NotEnoughReplicas, NotLeaderOrFollower
from protocol.errors import ErrorCode
from storage.producer.errors import InvalidProducerEpoch, TransactionCoordinatorFenced

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]
RETRY_BACKOFF_S = 0.1  # between rounds of markers to partitions without a leader


class TxnStateWriter(Protocol):
    """Where the coordinator's records go (``store.TransactionLog``; tests bring their own)."""

    def partition_for(self, transactional_id: str) -> int: ...

    def leader_epoch(self, index: int) -> int | None: ...

    async def append(self, transactional_id: str, value: bytes | None) -> ErrorCode: ...


class MarkerSender(Protocol):
    """Writes COMMIT/ABORT markers; per partition, the exception or None (``markers.write_markers``)."""

    async def __call__(
        self,
        producer_id: int,
        producer_epoch: int,
        coordinator_epoch: int,
        commit: bool,
        partitions: set[TopicPartition],
    ) -> dict[TopicPartition, BaseException | None]: ...


@dataclass(frozen=True, slots=True)
class TxnDescription:
    error: ErrorCode
    transactional_id: str
    state: str = ""
    timeout_ms: int = 0
    start_ms: int = -1
    producer_id: int = -1
    producer_epoch: int = -1
    partitions: tuple[TopicPartition, ...] = ()


def _failed(code: ErrorCode) -> tuple[ErrorCode, int, int]:
    return code, -1, -1


def _fenced(error: BaseException) -> bool:
    """A leader refused the marker for an older producer or coordinator epoch: another coordinator
    (or a later epoch) has taken the transaction over, so this one stops (Kafka's ``abortSending``)."""
    if isinstance(error, MarkerError):
        return error.code in (ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.TRANSACTION_COORDINATOR_FENCED)
    return isinstance(error, InvalidProducerEpoch | TransactionCoordinatorFenced)


def _retriable(error: BaseException) -> bool:
    if isinstance(error, MarkerError):  # from another broker's leader
        return error.retriable
    return isinstance(error, NotLeaderOrFollower | NotEnoughReplicas | RequestTimedOut | TimeoutError)


class TransactionCoordinator:
    def __init__(
        self,
        config: TransactionConfig,
        log_: TxnStateWriter,
        producer_ids: ProducerIdManager,
        markers: MarkerSender,
        ownership: Ownership,
        now_ms: Callable[[], int],
    ) -> None:
        self.config = config
        self.log = log_
        self.producer_ids = producer_ids
        self.markers = markers
        self.ownership = ownership
        self.now = now_ms
        self.txns: dict[str, TransactionMetadata] = {}
        self._completions: set[asyncio.Task[None]] = set()

    # -- writing -----------------------------------------------------------------------------------
    async def _write(self, meta: TransactionMetadata, transit: TxnTransit) -> ErrorCode:
        meta.pending = transit.state
        value = None if transit.state is TxnState.DEAD else records.value(transit.record_value())
        code = await self.log.append(meta.transactional_id, value)
        if self.txns.get(meta.transactional_id) is not meta:  # unloaded (or removed) meanwhile
            return ErrorCode.NOT_COORDINATOR
        if code is ErrorCode.NONE:
            meta.complete(transit)
        else:
            meta.pending = None
        return code

    def _check_producer(self, meta: TransactionMetadata, producer_id: int, epoch: int) -> ErrorCode:
        if meta.producer_id != producer_id:
            return ErrorCode.INVALID_PRODUCER_ID_MAPPING
        if meta.producer_epoch != epoch:
            return ErrorCode.PRODUCER_FENCED
        if meta.pending is not None:
            return ErrorCode.CONCURRENT_TRANSACTIONS
        return ErrorCode.NONE

    def _lookup(self, transactional_id: str) -> tuple[ErrorCode, TransactionMetadata | None]:
        status = self.ownership.status(transactional_id)
        if status is not ErrorCode.NONE:
            return status, None
        meta = self.txns.get(transactional_id)
        return (ErrorCode.INVALID_PRODUCER_ID_MAPPING, None) if meta is None else (ErrorCode.NONE, meta)

    # -- InitProducerId ----------------------------------------------------------------------------
    async def init_producer_id(
        self, transactional_id: str, timeout_ms: int, producer_id: int = -1, producer_epoch: int = -1
    ) -> tuple[ErrorCode, int, int]:
        """(error, producer id, epoch). ``producer_id``/``producer_epoch`` (v3+, KIP-360): the
        producer's current ones, -1 if it has none."""
        if not transactional_id:
            return _failed(ErrorCode.INVALID_REQUEST)
        if timeout_ms <= 0 or timeout_ms > self.config.max_timeout_ms:
            return _failed(ErrorCode.INVALID_TRANSACTION_TIMEOUT)
        status = self.ownership.status(transactional_id)
        if status is not ErrorCode.NONE:
            return _failed(status)
        meta = self.txns.get(transactional_id)
        if meta is None:
            new_id = await self.producer_ids.generate_producer_id()
            meta = self.txns.get(transactional_id)
            if meta is None:
                meta = TransactionMetadata(transactional_id, new_id, NO_PRODUCER_EPOCH, timeout_ms)
                self.txns[transactional_id] = meta
        if meta.pending is not None or meta.state in PREPARING:
            return _failed(ErrorCode.CONCURRENT_TRANSACTIONS)
        if producer_id >= 0 and meta.producer_epoch != NO_PRODUCER_EPOCH:  # (a new id: any producer may take it)
            current = (meta.producer_id, meta.producer_epoch)
            last = (meta.last_producer_id if meta.last_producer_id >= 0 else meta.producer_id, meta.last_producer_epoch)
            if (producer_id, producer_epoch) == last and (producer_id, producer_epoch) != current:
                if meta.state in COMPLETED:  # a retry of the bump that already happened
                    return ErrorCode.NONE, meta.producer_id, meta.producer_epoch
            elif (producer_id, producer_epoch) != current:
                return _failed(ErrorCode.PRODUCER_FENCED)
        if meta.state is TxnState.ONGOING:
            self._fence_and_abort(meta)
            return _failed(ErrorCode.CONCURRENT_TRANSACTIONS)
        new_producer_id = None
        if meta.epoch_exhausted():
            new_producer_id = await self.producer_ids.generate_producer_id()
            if self.txns.get(transactional_id) is not meta or meta.pending is not None or meta.state not in COMPLETED:
                return _failed(ErrorCode.CONCURRENT_TRANSACTIONS)
        code = await self._write(meta, meta.prepare_epoch_bump(timeout_ms, self.now(), new_producer_id))
        if code is not ErrorCode.NONE:
            return _failed(code)
        return ErrorCode.NONE, meta.producer_id, meta.producer_epoch

    # -- AddPartitionsToTxn, AddOffsetsToTxn -------------------------------------------------------
    async def add_partitions(
        self, transactional_id: str, producer_id: int, epoch: int, partitions: set[TopicPartition]
    ) -> ErrorCode:
        error, meta = self._lookup(transactional_id)
        if meta is None:
            return error
        error = self._check_producer(meta, producer_id, epoch)
        if error is not ErrorCode.NONE:
            return error
        if meta.state in PREPARING:
            return ErrorCode.CONCURRENT_TRANSACTIONS
        if meta.state is TxnState.ONGOING and partitions <= meta.partitions:
            return ErrorCode.NONE
        return await self._write(meta, meta.prepare_add_partitions(partitions, self.now()))

    def verify_partitions(
        self, transactional_id: str, producer_id: int, epoch: int, partitions: Iterable[TopicPartition]
    ) -> tuple[ErrorCode, dict[TopicPartition, ErrorCode]]:
        """KIP-890: whether each partition is in the producer's open transaction (NONE) or not
        (INVALID_TXN_STATE); the first value is an error for the whole transaction."""
        error, meta = self._lookup(transactional_id)
        if meta is None:
            return error, {}
        if meta.producer_id != producer_id:
            return ErrorCode.INVALID_PRODUCER_ID_MAPPING, {}
        if meta.producer_epoch != epoch:
            return ErrorCode.PRODUCER_FENCED, {}
        ongoing = meta.state is TxnState.ONGOING
        return ErrorCode.NONE, {
            tp: ErrorCode.NONE if ongoing and tp in meta.partitions else ErrorCode.INVALID_TXN_STATE
            for tp in partitions
        }

    # -- EndTxn ------------------------------------------------------------------------------------
    async def end_transaction(self, transactional_id: str, producer_id: int, epoch: int, commit: bool) -> ErrorCode:
        error, meta = self._lookup(transactional_id)
        if meta is None:
            return error
        error = self._check_producer(meta, producer_id, epoch)
        if error is not ErrorCode.NONE:
            return error
        state = meta.state
        if state is TxnState.ONGOING:
            return await self._prepare_end(meta, commit)
        if state is TxnState.COMPLETE_COMMIT:
            return ErrorCode.NONE if commit else ErrorCode.INVALID_TXN_STATE
        if state is TxnState.COMPLETE_ABORT:
            return ErrorCode.INVALID_TXN_STATE if commit else ErrorCode.NONE
        if state is TxnState.PREPARE_COMMIT:
            return ErrorCode.CONCURRENT_TRANSACTIONS if commit else ErrorCode.INVALID_TXN_STATE
        if state is TxnState.PREPARE_ABORT:
            return ErrorCode.INVALID_TXN_STATE if commit else ErrorCode.CONCURRENT_TRANSACTIONS
        return ErrorCode.INVALID_TXN_STATE  # Empty: no transaction; PrepareEpochFence: fenced

    async def _prepare_end(self, meta: TransactionMetadata, commit: bool) -> ErrorCode:
        code = await self._write(meta, meta.prepare_end(commit, self.now()))
        if code is ErrorCode.NONE:
            self._start_completion(meta)
        return code

    async def end_transaction_bumped(
        self, transactional_id: str, producer_id: int, epoch: int, commit: bool
    ) -> tuple[ErrorCode, int, int]:
        """EndTxn v5 (transaction version 2, KIP-890 part 2): (error, producer id, epoch). Every end
        bumps the epoch (a new producer id at epoch 0 once the epochs are exhausted), and the answer
        carries the id and epoch the producer goes on with. A retry of an end already done (the epoch
        one below the current one, or the last epoch of the previous id) is answered NONE with the
        current ones; an abort with no open transaction still bumps the epoch."""
        error, meta = self._lookup(transactional_id)
        if meta is None:
            return _failed(error)
        state = meta.state
        retry_on_overflow = meta.last_producer_id == producer_id and epoch == MAX_EPOCH - 1 and meta.producer_epoch == 0
        retry_on_bump = meta.producer_epoch == epoch + 1
        if state in COMPLETED - {TxnState.EMPTY}:
            valid_epoch = retry_on_bump or retry_on_overflow or epoch == meta.producer_epoch
        elif state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
            valid_epoch = retry_on_bump
        else:  # Empty, Ongoing, PrepareEpochFence
            valid_epoch = epoch == meta.producer_epoch
        if meta.producer_id != producer_id and not retry_on_overflow:
            return _failed(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
        if not valid_epoch:
            return _failed(ErrorCode.PRODUCER_FENCED)
        if meta.pending is not None:
            return _failed(ErrorCode.CONCURRENT_TRANSACTIONS)
        retry = retry_on_bump or retry_on_overflow
        done = TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT
        if state is done and retry:
            return ErrorCode.NONE, meta.producer_id, meta.producer_epoch
        begins_abort = state in COMPLETED and not commit and not retry
        if state is not TxnState.ONGOING and not begins_abort:
            if state is (TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT):
                return _failed(ErrorCode.CONCURRENT_TRANSACTIONS)
            return _failed(ErrorCode.INVALID_TXN_STATE)
        next_producer_id = None
        if meta.epoch_exhausted():
            next_producer_id = await self.producer_ids.generate_producer_id()
            if self.txns.get(transactional_id) is not meta or meta.pending is not None or meta.state is not state:
                return _failed(ErrorCode.CONCURRENT_TRANSACTIONS)
        code = await self._write(meta, meta.prepare_end_bumped(commit, self.now(), next_producer_id))
        if code is not ErrorCode.NONE:
            return _failed(code)
        self._start_completion(meta)
        if meta.next_producer_id != NO_PRODUCER_ID:  # the producer goes on with the next id
            return ErrorCode.NONE, meta.next_producer_id, 0
        return ErrorCode.NONE, meta.producer_id, meta.producer_epoch

    def _fence_and_abort(self, meta: TransactionMetadata) -> None:
        """Bump the epoch of an open transaction's producer (fencing it) and abort the transaction."""
        fenced_epoch = meta.producer_epoch
        meta.apply_in_memory(meta.prepare_fence(self.now()))

        async def abort() -> None:
            code = await self._write(meta, meta.prepare_end(False, self.now()))
            if code is ErrorCode.NONE:
                self._start_completion(meta)
            elif self.txns.get(meta.transactional_id) is meta and meta.state is TxnState.PREPARE_EPOCH_FENCE:
                log.warning("aborting %s failed (%s); it stays open", meta.transactional_id, code.name)
                meta.state, meta.producer_epoch = TxnState.ONGOING, fenced_epoch

        self._spawn(abort(), f"abort {meta.transactional_id}")

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._completions.add(task)
        task.add_done_callback(self._completion_done)

    def _completion_done(self, task: asyncio.Task[None]) -> None:
        self._completions.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("completing a transaction failed", exc_info=exc)

    def _start_completion(self, meta: TransactionMetadata) -> None:
        """Markers to every partition of ``meta``'s transaction, then the Complete* record."""
        self._spawn(self._complete(meta), f"markers for {meta.transactional_id}")

    async def _complete(self, meta: TransactionMetadata) -> None:
        txn_id = meta.transactional_id
        commit = meta.state is TxnState.PREPARE_COMMIT
        left = set(meta.partitions)
        meta.pending = TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT  # markers in flight
        while left:
            coordinator_epoch = self.log.leader_epoch(self.log.partition_for(txn_id))
            if coordinator_epoch is None or self.txns.get(txn_id) is not meta:
                log.info("%s: no longer coordinated here; markers left to the new coordinator", txn_id)
                return
            try:
                results = await self.markers(meta.producer_id, meta.producer_epoch, coordinator_epoch, commit, left)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug below: retried, since giving up leaves the id pending for good
                log.exception("%s: writing markers failed; retrying", txn_id)
                results = {}
            if fenced := [tp for tp, error in results.items() if error is not None and _fenced(error)]:
                log.info(
                    "%s: the marker for %s was refused for an older producer or coordinator epoch; no more "
                    "markers are sent and the completed state is not written here", txn_id, fenced,
                )  # fmt: skip
                return
            for tp, error in results.items():
                if error is None or not _retriable(error):
                    left.discard(tp)
                    if error is not None:
                        log.warning("%s: marker for %s-%d not written: %r", txn_id, tp[0], tp[1], error)
            if left:
                await asyncio.sleep(RETRY_BACKOFF_S)
        while self.txns.get(txn_id) is meta:
            meta.pending = None
            code = await self._write(meta, meta.prepare_complete(self.now()))
            if code is ErrorCode.NONE or code is ErrorCode.NOT_COORDINATOR:
                return
            log.warning("%s: writing the completed state failed (%s); retrying", txn_id, code.name)
            await asyncio.sleep(RETRY_BACKOFF_S)

    # -- periodic work -----------------------------------------------------------------------------
    def abort_timed_out(self) -> list[str]:
        """Abort every open transaction older than its timeout (fencing its producer); the ids."""
        now = self.now()
        timed_out = [
            m
            for m in self.txns.values()
            if m.state is TxnState.ONGOING and m.pending is None and m.start_ms + m.timeout_ms < now
            and self.ownership.owns(m.transactional_id)
        ]  # fmt: skip
        for meta in timed_out:
            log.info("aborting transaction of %s: open longer than %d ms", meta.transactional_id, meta.timeout_ms)
            self._fence_and_abort(meta)
        return [m.transactional_id for m in timed_out]

    async def expire_ids(self) -> list[str]:
        """Remove ids idle (no open transaction) longer than ``transactional.id.expiration.ms``."""
        now = self.now()
        expired = [
            m
            for m in self.txns.values()
            if m.state in COMPLETED and m.pending is None and m.update_ms + self.config.id_expiration_ms < now
            and self.ownership.owns(m.transactional_id)
        ]  # fmt: skip
        removed = []
        for meta in expired:
            if meta.pending is not None or self.txns.get(meta.transactional_id) is not meta:
                continue
            if await self._write(meta, meta.prepare_dead(self.now())) is ErrorCode.NONE:
                self.txns.pop(meta.transactional_id, None)
                removed.append(meta.transactional_id)
        return removed

    # -- admin -------------------------------------------------------------------------------------
    def describe(self, transactional_id: str) -> TxnDescription:
        status = self.ownership.status(transactional_id)
        if status is not ErrorCode.NONE:
            return TxnDescription(status, transactional_id)
        meta = self.txns.get(transactional_id)
        if meta is None:
            return TxnDescription(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactional_id)
        return TxnDescription(
            ErrorCode.NONE, transactional_id, meta.state.name_, meta.timeout_ms, meta.start_ms,
            meta.producer_id, meta.producer_epoch, tuple(sorted(meta.partitions)),
        )  # fmt: skip

    def list_transactions(
        self, states: set[TxnState] | None, producer_ids: set[int] | None, min_duration_ms: int = -1
    ) -> list[TransactionMetadata]:
        now = self.now()
        return [
            m
            for m in self.txns.values()
            if self.ownership.owns(m.transactional_id)
            and (not states or m.state in states)
            and (not producer_ids or m.producer_id in producer_ids)
            and (min_duration_ms < 0 or (m.state is TxnState.ONGOING and now - m.start_ms >= min_duration_ms))
        ]

    # -- loading -----------------------------------------------------------------------------------
    def install(self, replayed: dict[str, records.TransactionLogValue]) -> None:
        """Add the ids a partition's replay rebuilt (one step), and finish the transactions it left
        half-completed (PrepareCommit/PrepareAbort: their markers are written again)."""
        for txn_id, value in replayed.items():
            meta = TransactionMetadata.from_record(txn_id, value)
            self.txns[txn_id] = meta
            if meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
                self._start_completion(meta)

    def unload_partition(self, partition: int) -> int:
        gone = [t for t in self.txns if self.log.partition_for(t) == partition]
        for txn_id in gone:
            del self.txns[txn_id]
        return len(gone)

    def shutdown(self) -> None:
        for task in list(self._completions):
            task.cancel()

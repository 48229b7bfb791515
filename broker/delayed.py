"""The two delayed operations of the data path (Kafka's DelayedProduce and DelayedFetch), and the
shapes of a fetch: its parameters, what it asks of each partition and what each partition answers.

- ``DelayedProduce``: an acks=all produce whose batches are in the leader's log, waiting until the
  high watermark passes each of them. Per partition it ends acknowledged, with
  NotEnoughReplicasAfterAppend (the ISR shrank below min.insync.replicas meanwhile), with
  NotLeaderOrFollower / UnknownTopicOrPartition (leadership moved, the partition went), or with
  ``RequestTimedOut`` when ``timeout_ms`` passes first.
- ``DelayedFetch``: a fetch with less than ``min_bytes`` available, waiting up to ``max_wait_ms``.
  ``try_complete`` is cheap (offsets, and sizes only when ``min_bytes`` > 1); the replica manager
  reads for real once it completes, in the same step as the answer is built (file regions are
  opened while current, see ``broker.zerocopy``). It completes at once when a partition is gone,
  changed leader or epoch, or its fetch offset fell out of the log. A read_committed fetch counts
  only what lies below the last stable offset: a transaction marker (an append) or the high
  watermark passing one wakes it. A follower's fetch does not count the partitions the leader's
  replication quota holds back (``ReplicaManager.should_leader_throttle``), as Kafka's DelayedFetch.

Both run their checks on the event loop, in the step of whoever woke them (an append, a follower's
fetch that moved the high watermark).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from broker.partition import READ_UNCOMMITTED, Partition, ReplicaError
from broker.purgatory import DelayedOperation
from storage.errors import StorageError
from storage.log.results import FetchDataInfo
from storage.producer.txn import AbortedTxn


class RequestTimedOut(ReplicaError):
    """An acks=all produce whose batches the ISR did not all have within ``timeout_ms`` (REQUEST_TIMED_OUT)."""


PartitionLookup = Callable[[tuple[str, int]], Partition]
"""The hosted partition with this key, or a ReplicaError (NotLeaderOrFollower, UnknownTopicOrPartition)."""


@dataclass(slots=True)
class _Pending:
    key: tuple[str, int]
    partition: Partition
    required_offset: int
    acks_pending: bool = True
    error: BaseException | None = None


class DelayedProduce(DelayedOperation[dict[tuple[str, int], BaseException | None]]):
    """Result: per partition, None (acknowledged) or the error it ended with."""

    def __init__(self, timeout_ms: int, required: Sequence[tuple[tuple[str, int], Partition, int]]) -> None:
        super().__init__(timeout_ms)
        self._pending = [_Pending(key, partition, offset) for key, partition, offset in required]

    def try_complete(self) -> bool:
        for status in self._pending:
            if not status.acks_pending:
                continue
            done, error = status.partition.check_enough_replicas_reach_offset(status.required_offset)
            if error is not None or done:
                status.acks_pending = False
                status.error = error
        if any(s.acks_pending for s in self._pending):
            return False
        return self.force_complete()

    def on_expiration(self) -> None:
        for status in self._pending:
            if status.acks_pending:
                status.acks_pending = False
                status.error = RequestTimedOut(
                    f"{status.key[0]}-{status.key[1]}: the high watermark did not reach {status.required_offset} "
                    f"within {self.timeout_ms} ms"
                )

    def on_complete(self) -> dict[tuple[str, int], BaseException | None]:
        # Forced before every partition was decided (shutdown): the undecided ones were not acknowledged.
        return {
            s.key: RequestTimedOut(f"{s.key[0]}-{s.key[1]}: not acknowledged before shutdown")
            if s.acks_pending
            else s.error
            for s in self._pending
        }


@dataclass(frozen=True, slots=True)
class FetchParams:
    """A fetch request's own parameters (Kafka's ``FetchParams``). ``replica_id`` >= 0: a follower."""

    replica_id: int = -1
    max_wait_ms: int = 0
    min_bytes: int = 1
    max_bytes: int = 2**31 - 1
    isolation_level: int = READ_UNCOMMITTED

    @property
    def is_follower(self) -> bool:
        return self.replica_id >= 0

    @property
    def read_isolation(self) -> int | None:
        """Followers read up to the log end offset (None); consumers up to the HW or the LSO."""
        return None if self.is_follower else self.isolation_level


@dataclass(frozen=True, slots=True)
class FetchPartitionSpec:
    """What a fetch asks of one partition (Kafka's ``FetchRequest.PartitionData``)."""

    fetch_offset: int
    max_bytes: int
    current_leader_epoch: int = -1
    last_fetched_epoch: int = -1


@dataclass(slots=True)
class FetchPartitionResult:
    """One partition's answer (Kafka's ``LogReadResult``): an error (a storage or replica
    exception), or the offsets and the data read (file regions), or a diverging epoch (KIP-320)."""

    error: BaseException | None = None
    high_watermark: int = -1
    last_stable_offset: int = -1
    log_start_offset: int = -1
    info: FetchDataInfo | None = None
    diverging_epoch: tuple[int, int] | None = None  # (epoch, end offset)
    aborted_transactions: tuple[AbortedTxn, ...] | None = None  # read_committed reads only

    @property
    def size(self) -> int:
        return 0 if self.info is None else self.info.size


def fetch_is_complete(results: Sequence[FetchPartitionResult], min_bytes: int) -> bool:
    """Answer now: a partition has an error or a diverging epoch, or there are ``min_bytes``."""
    total = 0
    for result in results:
        if result.error is not None or result.diverging_epoch is not None:
            return True
        total += result.size
    return total >= min_bytes


class DelayedFetch(DelayedOperation[None]):
    """Completes when the fetch can be answered; the caller then reads."""

    def __init__(
        self,
        params: FetchParams,
        partitions: Sequence[tuple[tuple[str, int], FetchPartitionSpec]],
        lookup: PartitionLookup,
        throttled: Callable[[Partition], bool] | None = None,
    ) -> None:
        """``throttled(partition)``: a follower's fetch the leader's replication quota holds back
        there (its bytes do not count towards ``min_bytes``, as in Kafka)."""
        super().__init__(params.max_wait_ms)
        self.params = params
        self.partitions = partitions
        self._lookup = lookup
        self._throttled = throttled

    def try_complete(self) -> bool:
        if self._ready():
            return self.force_complete()
        return False

    def _ready(self) -> bool:
        params = self.params
        accumulated = 0
        for key, spec in self.partitions:
            try:
                partition = self._lookup(key)
            except ReplicaError:
                return True  # gone, or leadership moved: answer with the error now
            if spec.current_leader_epoch >= 0 and spec.current_leader_epoch != partition.leader_epoch:
                return True
            try:
                if not partition.log_start_offset <= spec.fetch_offset <= partition.log_end_offset:
                    return True  # out of range now (truncated, records deleted)
                end = partition.last_fetchable_offset(params.read_isolation)
                if end <= spec.fetch_offset or (self._throttled is not None and self._throttled(partition)):
                    continue
                if params.min_bytes <= 1:
                    return True
                read = partition.read(spec.fetch_offset, max(spec.max_bytes, 0), end, min_one_message=True)
            except StorageError:
                return True
            accumulated += read.size
            if accumulated >= params.min_bytes:
                return True
        return False

    def on_complete(self) -> None:
        return None

"""A partition replica on this broker: its log, role (leader or follower), leader epoch, replica set,
ISR, the log end offsets of the other replicas, and the high watermark.

Every partition has what replication needs from the start, even on a single broker, which is a
cluster of one leading every partition with an ISR of itself.

Invariants:
- As leader, the high watermark is the smallest log end offset over the ISR (this replica's own
  LEO included) and never moves back; with an ISR of one it follows the log end offset on every append.
- A follower's log end offset on the leader is the offset it last fetched from (a follower fetches
  from its own LEO), never more than the leader's LEO.
- The ISR always holds the leader while it leads. A follower joins the ISR when its LEO reaches the
  high watermark and this leader epoch's start offset (in cluster mode: while its broker is alive);
  it leaves when it has not caught up for ``replica.lag.time.max.ms``.
- ISR changes in cluster mode are proposed, not applied (Kafka's PendingExpandIsr/PendingShrinkIsr):
  ``isr`` is the committed ISR (from LeaderAndIsr or the controller's AlterPartition answer, with its
  ``partition_epoch``); a proposal waits in ``pending`` until the controller answers, and while one is in
  flight no other is made. The high watermark is computed over the *maximal* ISR (committed plus a
  pending addition; a pending removal still counts), so it never advances on an ISR the controller may
  not commit; min.insync.replicas before an append checks the committed ISR, and once the HW passed a
  waiting acks=all batch, the maximal one (the replicas holding it: Kafka's
  ``checkEnoughReplicasReachOffset``). Without an ``alter_isr`` channel (the embedded broker: a
  cluster of one, its own controller) a change applies at once.
- Handlers use the facades here (reads, offsets, lookups); none reaches through ``log``.

Not thread-safe: the broker's event loop owns it. Storage exceptions pass through untouched; the
exceptions of this module are the replica-level refusals, which only handlers turn into error codes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from protocol.records.header import InvalidRecordBatch, read_header
from storage.config import LogConfig
from storage.errors import CorruptRecord, OffsetOutOfRange, UnexpectedAppendOffset
from storage.log.log import Log
from storage.log.results import FetchDataInfo, LogAppendInfo
from storage.producer.state import AppendOrigin

log = logging.getLogger(__name__)


class ReplicaError(Exception):
    """A partition-level refusal by this broker's replica (not a storage failure)."""


class NotEnoughReplicas(ReplicaError):
    """acks=all with fewer in-sync replicas than min.insync.replicas (NOT_ENOUGH_REPLICAS)."""


class NotEnoughReplicasAfterAppend(ReplicaError):
    """Appended, but the ISR shrank below min.insync.replicas before the HW passed it."""


class FencedLeaderEpoch(ReplicaError):
    """The client's current leader epoch is older than ours: its metadata is stale (FENCED_LEADER_EPOCH)."""


class UnknownLeaderEpoch(ReplicaError):
    """The client's current leader epoch is newer than ours: we are behind (UNKNOWN_LEADER_EPOCH)."""


class NotLeaderOrFollower(ReplicaError):
    """This broker does not lead the partition (or is not a replica of it)."""


class UnknownTopicOrPartition(ReplicaError):
    """No such topic or partition in the cluster."""


class PolicyViolation(ReplicaError):
    """The topic's configuration forbids the operation (DeleteRecords without cleanup.policy delete)."""


READ_UNCOMMITTED = 0
READ_COMMITTED = 1
LEADER = "leader"
FOLLOWER = "follower"


@dataclass(slots=True)
class ReplicaState:
    """What the leader knows of another replica (Kafka's ``Replica``)."""

    log_end_offset: int = -1  # unknown until its first fetch
    last_caught_up_ms: int = 0
    last_fetch_leader_leo: int = -1
    last_fetch_ms: int = 0


@dataclass(eq=False, slots=True)
class PendingIsrChange:
    """An ISR change proposed to the controller and not answered yet (compared by identity)."""

    isr: list[int]  # the proposed ISR
    leader_epoch: int
    partition_epoch: int  # the committed state it was made from
    added: int | None = None  # expand: the follower joining (it counts for the high watermark already)
    removed: tuple[int, ...] = ()  # shrink: the followers leaving (they count until it is committed)


class AlterIsr(Protocol):
    """Where a leader's ISR proposals go (``broker.alter_partition.AlterPartitionManager``)."""

    def submit(self, partition: Partition, change: PendingIsrChange) -> None: ...

    def is_eligible(self, broker_id: int) -> bool:
        """A follower may join the ISR only while its broker is alive (Kafka's ZooKeeper-mode rule)."""
        ...


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(eq=False)
class Partition:
    topic: str
    index: int
    topic_id: bytes
    log: Log
    leader_id: int
    leader_epoch: int
    replicas: list[int]
    isr: list[int] = field(default_factory=list)
    local_id: int = -1  # this broker; -1: the leader (single broker, as before roles existed)
    remote: dict[int, ReplicaState] = field(default_factory=dict)
    partition_epoch: int = 0  # the committed ISR's version (ZooKeeper: the state znode's zkVersion)
    alter_isr: AlterIsr | None = None  # cluster mode: ISR changes are proposed to the controller
    pending: PendingIsrChange | None = None
    leader_epoch_start_offset: int = 0  # the log end offset when this epoch's leadership began

    def __post_init__(self) -> None:
        self.name = f"{self.topic}-{self.index}"
        if self.local_id < 0:
            self.local_id = self.leader_id
        if self.is_leader(self.local_id):
            self._reset_remote(_now_ms())

    # -- identity and role ------------------------------------------------------------------------
    @property
    def key(self) -> tuple[str, int]:
        return (self.topic, self.index)

    @property
    def role(self) -> str:
        return LEADER if self.leader_id == self.local_id else FOLLOWER

    def is_leader(self, node_id: int | None = None) -> bool:
        return self.leader_id == (self.local_id if node_id is None else node_id)

    def make_leader(
        self,
        leader_epoch: int,
        isr: list[int],
        replicas: list[int],
        now_ms: int | None = None,
        partition_epoch: int | None = None,
    ) -> bool:
        """Lead from ``leader_epoch`` (LeaderAndIsr) with the committed ``isr``; a proposal in flight is
        forgotten (its answer will be ignored). True if this replica was not the leader before. The
        other replicas' LEOs are unknown until they fetch; the HW stays where it was."""
        was_leader = self.is_leader()
        self.leader_id = self.local_id
        self.leader_epoch = leader_epoch
        self.replicas = list(replicas)
        self.isr = list(isr) if self.local_id in isr else [self.local_id, *isr]
        if partition_epoch is not None:
            self.partition_epoch = partition_epoch
        self.pending = None
        self.leader_epoch_start_offset = self.log_end_offset
        self._reset_remote(_now_ms() if now_ms is None else now_ms)
        self.maybe_advance_high_watermark()
        return not was_leader

    def make_follower(self, leader_id: int, leader_epoch: int, replicas: list[int]) -> bool:
        """Follow ``leader_id`` from ``leader_epoch``. True if the leader changed. A follower keeps
        no ISR and no remote replica state (the leader does)."""
        changed = leader_id != self.leader_id
        self.leader_id = leader_id
        self.leader_epoch = leader_epoch
        self.replicas = list(replicas)
        self.isr = []
        self.remote = {}
        self.pending = None
        return changed

    def stop_serving(self) -> None:
        """StopReplica: this replica leads and follows no more (Kafka answers what waited on it with
        NOT_LEADER_OR_FOLLOWER, never a timeout)."""
        self.leader_id = -1
        self.isr = []
        self.remote = {}
        self.pending = None

    def _reset_remote(self, now_ms: int) -> None:
        self.remote = {r: ReplicaState(last_caught_up_ms=now_ms) for r in self.replicas if r != self.local_id}

    # -- offsets (facades) ------------------------------------------------------------------------
    @property
    def config(self) -> LogConfig:
        return self.log.config

    @property
    def high_watermark(self) -> int:
        return self.log.high_watermark

    @property
    def log_end_offset(self) -> int:
        return self.log.log_end_offset

    @property
    def log_start_offset(self) -> int:
        return self.log.log_start_offset

    @property
    def last_stable_offset(self) -> int:
        """Below the first offset of any open transaction, and never above the high watermark."""
        return self.log.last_stable_offset

    def last_fetchable_offset(self, isolation_level: int | None) -> int:
        """Where a reader may read up to: the LSO (read_committed), the HW (read_uncommitted), or the
        log end offset (None: a follower or a debugging client)."""
        if isolation_level is None:
            return self.log_end_offset
        return self.last_stable_offset if isolation_level == READ_COMMITTED else self.high_watermark

    def check_leader_epoch(self, current_leader_epoch: int) -> None:
        """KIP-320: a request naming a leader epoch must name ours (-1 means the client did not say)."""
        if current_leader_epoch < 0 or current_leader_epoch == self.leader_epoch:
            return
        if current_leader_epoch < self.leader_epoch:
            raise FencedLeaderEpoch(
                f"{self.topic}-{self.index}: request epoch {current_leader_epoch} is older than {self.leader_epoch}"
            )
        raise UnknownLeaderEpoch(
            f"{self.topic}-{self.index}: request epoch {current_leader_epoch} is newer than {self.leader_epoch}"
        )

    # -- the high watermark and the ISR -------------------------------------------------------------
    def replica_log_end_offset(self, replica_id: int) -> int:
        """A replica's LEO as this leader knows it (-1: unknown)."""
        if replica_id == self.local_id:
            return self.log_end_offset
        state = self.remote.get(replica_id)
        return -1 if state is None else state.log_end_offset

    def maybe_advance_high_watermark(self) -> bool:
        """As leader: move the HW up to the smallest LEO over the ISR. True if it moved."""
        if self.leader_id != self.local_id:
            return False
        log = self.log
        isr = self.isr if self.pending is None else self.maximal_isr
        # The leader alone (the hot path of a single broker): its own log end offset.
        target = log.log_end_offset if len(isr) <= 1 else min(self.replica_log_end_offset(r) for r in isr)
        if target > log.high_watermark:
            log.set_high_watermark(target)
            return True
        return False

    def update_follower_fetch_state(self, replica_id: int, fetch_offset: int, now_ms: int | None = None) -> bool:
        """A follower fetched from ``fetch_offset`` (its LEO). Records it, lets the follower join the
        ISR once caught up to the HW, and moves the HW. True if the HW moved. Raises
        NotLeaderOrFollower when this broker does not lead, or ``replica_id`` is not a replica."""
        if not self.is_leader():
            raise NotLeaderOrFollower(f"{self.topic}-{self.index}: broker {self.local_id} is not the leader")
        state = self.remote.get(replica_id)
        if state is None:
            raise NotLeaderOrFollower(f"{self.topic}-{self.index}: replica {replica_id} is not in {self.replicas}")
        now = _now_ms() if now_ms is None else now_ms
        leader_leo = self.log_end_offset
        if fetch_offset > leader_leo or fetch_offset < 0:
            raise OffsetOutOfRange(fetch_offset, self.log_start_offset, leader_leo, f"follower {replica_id} fetch")
        if fetch_offset >= leader_leo:
            state.last_caught_up_ms = now
        elif fetch_offset >= state.last_fetch_leader_leo >= 0:
            state.last_caught_up_ms = max(state.last_caught_up_ms, state.last_fetch_ms)
        state.log_end_offset = fetch_offset
        state.last_fetch_leader_leo = leader_leo
        state.last_fetch_ms = now
        self.maybe_expand_isr(replica_id)
        return self.maybe_advance_high_watermark()

    @property
    def maximal_isr(self) -> list[int]:
        """The committed ISR plus a follower whose addition is pending (Kafka's ``maximalIsr``)."""
        pending = self.pending
        if pending is not None and pending.added is not None and pending.added not in self.isr:
            return [*self.isr, pending.added]
        return self.isr

    def maybe_expand_isr(self, replica_id: int) -> bool:
        """Add a follower whose LEO reached the HW (and this leader epoch's start offset) to the ISR:
        propose it (cluster mode) or apply it. Not while another change is in flight, nor for a
        follower whose broker is not alive. True if proposed or joined."""
        if self.pending is not None or replica_id in self.isr or replica_id not in self.remote:
            return False
        leo = self.remote[replica_id].log_end_offset
        if leo < self.high_watermark or leo < self.leader_epoch_start_offset:
            return False
        if self.alter_isr is None:
            self.isr.append(replica_id)
            return True
        if not self.alter_isr.is_eligible(replica_id):
            return False
        self._propose(
            PendingIsrChange([*self.isr, replica_id], self.leader_epoch, self.partition_epoch, added=replica_id)
        )
        return True

    def out_of_sync_replicas(self, lag_max_ms: int, now_ms: int | None = None) -> list[int]:
        """ISR followers that have not caught up to the leader's LEO for ``lag_max_ms`` (one at the
        leader's LEO is in sync, however long ago it fetched: Kafka's ``isCaughtUp``)."""
        now = _now_ms() if now_ms is None else now_ms
        leader_leo = self.log_end_offset
        out = []
        for r in self.isr:
            state = self.remote.get(r)
            if r == self.local_id or state is None or state.log_end_offset == leader_leo:
                continue
            if now - state.last_caught_up_ms > lag_max_ms:
                out.append(r)
        return out

    def maybe_shrink_isr(self, lag_max_ms: int, now_ms: int | None = None) -> list[int]:
        """Remove lagging followers from the ISR (the leader stays): propose it (cluster mode; not
        while another change is in flight), or apply it, and the HW may then move. Returns the
        replicas proposed for removal or removed."""
        if not self.is_leader() or self.pending is not None:
            return []
        lagging = self.out_of_sync_replicas(lag_max_ms, now_ms)
        if not lagging:
            return lagging
        new_isr = [r for r in self.isr if r not in lagging]
        if self.alter_isr is None:
            self.isr = new_isr
            self.maybe_advance_high_watermark()
        else:
            self._propose(PendingIsrChange(new_isr, self.leader_epoch, self.partition_epoch, removed=tuple(lagging)))
        return lagging

    def _propose(self, change: PendingIsrChange) -> None:
        assert self.alter_isr is not None
        if change.added is not None:
            log.info("%s: expanding the ISR from %s to %s (proposed)", self.name, self.isr, change.isr)
        else:
            lagging = ", ".join(f"(brokerId: {r}, endOffset: {self.replica_log_end_offset(r)})" for r in change.removed)
            log.info("%s: shrinking the ISR from %s to %s (proposed). Leader: (highWatermark: %d, endOffset: %d). "
                     "Out of sync replicas: %s.", self.name, self.isr, change.isr, self.high_watermark,
                     self.log_end_offset, lagging)  # fmt: skip
        self.pending = change
        self.alter_isr.submit(self, change)

    def commit_isr_change(
        self, change: PendingIsrChange, leader_epoch: int, isr: list[int], partition_epoch: int
    ) -> bool:
        """The controller answered ``change`` with the state it committed. Applied only if ``change`` is
        still the one pending (no LeaderAndIsr came meanwhile), for this leader epoch, and not older
        than what we hold; else it stays pending until the next LeaderAndIsr (Kafka's rule). True if
        the HW moved."""
        if self.pending is not change or not self.is_leader():
            return False
        if leader_epoch != self.leader_epoch or partition_epoch < self.partition_epoch:
            return False
        self.isr = list(isr) if self.local_id in isr else [self.local_id, *isr]
        self.partition_epoch = partition_epoch
        self.pending = None
        return self.maybe_advance_high_watermark()

    def abandon_isr_change(self, change: PendingIsrChange) -> None:
        """The controller refused ``change`` and applied nothing (INELIGIBLE_REPLICA,
        OPERATION_NOT_ATTEMPTED): back to the committed ISR, free to propose again."""
        if self.pending is change:
            self.pending = None

    def check_enough_replicas_reach_offset(self, required_offset: int) -> tuple[bool, ReplicaError | None]:
        """For a waiting acks=all produce (Kafka's ``checkEnoughReplicasReachOffset``): (False, None)
        while the HW is below ``required_offset``; then (True, None), or (True,
        NotEnoughReplicasAfterAppend) if the ISR shrank below min.insync.replicas; (False,
        NotLeaderOrFollower) once this broker stopped leading."""
        if not self.is_leader():
            return False, NotLeaderOrFollower(f"{self.topic}-{self.index}: leadership moved")
        if self.high_watermark < required_offset:
            return False, None
        in_sync = len(self.maximal_isr)  # as Kafka: the HW passed the batch on these replicas
        if in_sync < self.config.min_insync_replicas:
            return True, NotEnoughReplicasAfterAppend(
                f"{in_sync} in-sync replicas, min.insync.replicas={self.config.min_insync_replicas}"
            )
        return True, None

    # -- appends and reads ----------------------------------------------------------------------
    def append_as_leader(
        self,
        records: bytes | bytearray | memoryview,
        required_acks: int,
        origin: AppendOrigin = AppendOrigin.CLIENT,
    ) -> LogAppendInfo:
        """Append a client's (or a coordinator's) records; the HW moves if the ISR allows."""
        if self.leader_id != self.local_id:
            raise NotLeaderOrFollower(f"{self.topic}-{self.index}: broker {self.local_id} is not the leader")
        if required_acks == -1 and len(self.isr) < self.log.config.min_insync_replicas:
            min_isr = self.log.config.min_insync_replicas
            raise NotEnoughReplicas(f"{len(self.isr)} in-sync replicas, min.insync.replicas={min_isr}")
        info = self.log.append_as_leader(records, self.leader_epoch, origin=origin)
        self.maybe_advance_high_watermark()
        return info

    # -- the follower side (the replica fetcher's facades) --------------------------------------------
    @property
    def latest_epoch(self) -> int:
        """The leader epoch of the last batch in the log (-1: none known): a fetch's last fetched epoch."""
        return self.log.latest_epoch

    def append_as_follower(self, records: bytes | bytearray | memoryview) -> LogAppendInfo:
        """Append the leader's batches as they are (its offsets and epochs, no re-encoding). An empty
        log starting inside the first batch (the leader's log start offset moved mid-batch, by
        DeleteRecords) restarts at that batch's base offset first, as Kafka's follower does."""
        if self.is_leader():
            raise NotLeaderOrFollower(f"{self.name}: broker {self.local_id} leads; it does not follow")
        try:
            return self.log.append_as_follower(records)
        except UnexpectedAppendOffset:
            end = self.log_end_offset
            try:
                first = read_header(records)
            except InvalidRecordBatch:
                raise CorruptRecord(f"{self.name}: the leader's first batch has no readable header") from None
            if not (end == self.log_start_offset and first.base_offset < end <= first.last_offset):
                raise
            self.log.truncate_fully_and_start_at(first.base_offset)
            return self.log.append_as_follower(records)

    def update_follower_offsets(self, leader_high_watermark: int, leader_log_start_offset: int) -> None:
        """Take the leader's HW (as far as this log reaches) and log start offset (Kafka's follower)."""
        hw = self.log.set_high_watermark(min(leader_high_watermark, self.log_end_offset))
        if leader_log_start_offset > self.log_start_offset:
            self.log.delete_records_before(min(leader_log_start_offset, hw))

    def truncate_to(self, offset: int) -> bool:
        """Follower truncation: drop every batch at or above ``offset``. True if anything went."""
        return self.log.truncate_to(offset)

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """The leader's log starts above ours: drop everything and start empty at ``offset``."""
        self.log.truncate_fully_and_start_at(offset)

    def read(
        self,
        offset: int,
        max_bytes: int,
        max_offset: int,
        min_one_message: bool = True,
    ) -> FetchDataInfo:
        """Whole batches from ``offset`` below ``max_offset`` (see ``last_fetchable_offset``)."""
        return self.log.read(offset, max_bytes, max_offset, min_one_message=min_one_message)

    def diverging_epoch(self, fetch_offset: int, last_fetched_epoch: int) -> tuple[int, int] | None:
        """KIP-320: (epoch, end offset) where the log diverges from the epoch of the last batch the
        fetcher saw, or None. Raises OffsetOutOfRange for an epoch the log does not know."""
        if last_fetched_epoch < 0:
            return None
        epoch, end = self.log.end_offset_for_epoch(last_fetched_epoch)
        if epoch < 0 or end < 0:
            raise OffsetOutOfRange(
                fetch_offset, self.log_start_offset, self.log_end_offset, "fetch after unknown epoch"
            )
        if fetch_offset < self.log_start_offset:
            raise OffsetOutOfRange(fetch_offset, self.log_start_offset, self.log_end_offset)
        if epoch < last_fetched_epoch or end < fetch_offset:
            return epoch, end
        return None

    # -- lookups for ListOffsets, OffsetForLeaderEpoch, DeleteRecords -------------------------------
    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """(largest epoch <= ``epoch``, its end offset), or (-1, -1)."""
        return self.log.end_offset_for_epoch(epoch)

    def epoch_for_offset(self, offset: int) -> int:
        return self.log.epoch_cache.epoch_for_offset(offset)

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with a timestamp >= ``timestamp``, or None."""
        return self.log.offset_for_timestamp(timestamp)

    def offset_of_max_timestamp(self) -> tuple[int, int] | None:
        return self.log.offset_of_max_timestamp()

    def legacy_offsets_before(self, timestamp: int, latest: bool) -> list[int]:
        """ListOffsets v0: for LATEST the HW then the segment base offsets below it (newest first);
        else the base offsets of the segments whose newest timestamp is before ``timestamp``."""
        segments = list(reversed(self.log.segments))
        if latest:
            hw = self.high_watermark
            return [hw, *(s.base_offset for s in segments if s.size > 0 and s.base_offset < hw)]
        start = self.log_start_offset
        return [max(s.base_offset, start) for s in segments if 0 <= s.max_timestamp < timestamp]

    def delete_records_on_leader(self, offset: int) -> int:
        """DeleteRecords: move the log start offset up to ``offset`` (-1: the HW); returns the new
        log start offset (the low watermark). Raises PolicyViolation without cleanup.policy delete."""
        if not self.is_leader():
            raise NotLeaderOrFollower(f"{self.topic}-{self.index}: broker {self.local_id} is not the leader")
        if not self.config.delete_enabled:
            raise PolicyViolation(
                f"Records of partition {self.topic}-{self.index} can not be deleted due to the configured policy"
            )
        return self.log.delete_records_before(self.high_watermark if offset == -1 else offset)

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
  high watermark; it leaves when it has not caught up for ``replica.lag.time.max.ms``.
- Handlers use the facades here (reads, offsets, lookups); none reaches through ``log``.

Not thread-safe: the broker's event loop owns it. Storage exceptions pass through untouched; the
exceptions of this module are the replica-level refusals, which only handlers turn into error codes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from protocol.records.header import InvalidRecordBatch, read_header
from storage.config import LogConfig
from storage.errors import CorruptRecord, OffsetOutOfRange, UnexpectedAppendOffset
from storage.log.log import Log
from storage.log.results import FetchDataInfo, LogAppendInfo
from storage.producer.state import AppendOrigin


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

    def make_leader(self, leader_epoch: int, isr: list[int], replicas: list[int], now_ms: int | None = None) -> bool:
        """Lead from ``leader_epoch`` (LeaderAndIsr). True if this replica was not the leader before.
        The other replicas' LEOs are unknown until they fetch; the HW stays where it was."""
        was_leader = self.is_leader()
        self.leader_id = self.local_id
        self.leader_epoch = leader_epoch
        self.replicas = list(replicas)
        self.isr = list(isr) if self.local_id in isr else [self.local_id, *isr]
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
        return changed

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
        isr = self.isr
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

    def maybe_expand_isr(self, replica_id: int) -> bool:
        """Add a follower whose LEO reached the HW to the ISR. True if it joined."""
        if replica_id in self.isr or replica_id not in self.remote:
            return False
        if self.remote[replica_id].log_end_offset < self.high_watermark:
            return False
        self.isr.append(replica_id)
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
        """Remove lagging followers from the ISR (the leader stays); the HW may then move. Returns
        the replicas removed."""
        if not self.is_leader():
            return []
        lagging = self.out_of_sync_replicas(lag_max_ms, now_ms)
        if lagging:
            self.isr = [r for r in self.isr if r not in lagging]
            self.maybe_advance_high_watermark()
        return lagging

    def check_enough_replicas_reach_offset(self, required_offset: int) -> tuple[bool, ReplicaError | None]:
        """For a waiting acks=all produce (Kafka's ``checkEnoughReplicasReachOffset``): (False, None)
        while the HW is below ``required_offset``; then (True, None), or (True,
        NotEnoughReplicasAfterAppend) if the ISR shrank below min.insync.replicas; (False,
        NotLeaderOrFollower) once this broker stopped leading."""
        if not self.is_leader():
            return False, NotLeaderOrFollower(f"{self.topic}-{self.index}: leadership moved")
        if self.high_watermark < required_offset:
            return False, None
        if len(self.isr) < self.config.min_insync_replicas:
            return True, NotEnoughReplicasAfterAppend(
                f"{len(self.isr)} in-sync replicas, min.insync.replicas={self.config.min_insync_replicas}"
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

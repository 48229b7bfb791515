"""A partition replica on this broker: its log, leader epoch, replica set, ISR and high watermark.

From the start every partition has what replication needs (leader epoch, replicas, ISR), even on a
single broker, which is a cluster of one leading every partition with an ISR of itself. With an ISR
of one, the high watermark follows the log end offset on every append.

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.log.log import Log
from storage.log.results import FetchDataInfo, LogAppendInfo


class NotEnoughReplicas(Exception):
    """acks=all with fewer in-sync replicas than min.insync.replicas."""


class FencedLeaderEpoch(Exception):
    """The client's current leader epoch is older than ours: its metadata is stale (FENCED_LEADER_EPOCH)."""


class UnknownLeaderEpoch(Exception):
    """The client's current leader epoch is newer than ours: we are behind (UNKNOWN_LEADER_EPOCH)."""


READ_UNCOMMITTED = 0
READ_COMMITTED = 1


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

    @property
    def key(self) -> tuple[str, int]:
        return (self.topic, self.index)

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

    def is_leader(self, node_id: int) -> bool:
        return self.leader_id == node_id

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

    def last_fetchable_offset(self, isolation_level: int | None) -> int:
        """Where a reader may read up to: the LSO (read_committed), the HW (read_uncommitted), or the
        log end offset (None: a follower or a debugging client)."""
        if isolation_level is None:
            return self.log_end_offset
        return self.last_stable_offset if isolation_level == READ_COMMITTED else self.high_watermark

    def has_enough_replicas_at(self, required_offset: int) -> bool | None:
        """For a waiting acks=all produce: None while the HW is below ``required_offset``; then whether
        the ISR still meets min.insync.replicas (False: NOT_ENOUGH_REPLICAS_AFTER_APPEND)."""
        if self.high_watermark < required_offset:
            return None
        return len(self.isr) >= self.log.config.min_insync_replicas

    def append_as_leader(self, records: bytes | bytearray | memoryview, required_acks: int) -> LogAppendInfo:
        if required_acks == -1 and len(self.isr) < self.log.config.min_insync_replicas:
            raise NotEnoughReplicas(
                f"{len(self.isr)} in-sync replicas, min.insync.replicas={self.log.config.min_insync_replicas}"
            )
        info = self.log.append_as_leader(records, self.leader_epoch)
        self.maybe_advance_high_watermark()
        return info

    def maybe_advance_high_watermark(self) -> bool:
        """With only this replica in sync, the high watermark is the log end offset."""
        if len(self.isr) <= 1 and self.log.high_watermark < self.log.log_end_offset:
            self.log.set_high_watermark(self.log.log_end_offset)
            return True
        return False

    def read(
        self,
        offset: int,
        max_bytes: int,
        committed_only: bool,
        max_offset: int | None = None,
        min_one_message: bool = True,
    ) -> FetchDataInfo:
        bound = max_offset if max_offset is not None else (self.high_watermark if committed_only else None)
        return self.log.read(offset, max_bytes, bound, min_one_message=min_one_message)

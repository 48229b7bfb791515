"""Which ``__consumer_offsets`` partitions this coordinator owns (Kafka's ownedPartitions, loadingPartitions
and epochForPartitionId in GroupMetadataManager).

A group belongs to one partition (``partition_for``). Its coordinator answers for it only while it
owns that partition: elected and loaded. While the partition loads, COORDINATOR_LOAD_IN_PROGRESS;
once resigned (or if another broker leads it), NOT_COORDINATOR. Leader epochs order elections and
resignations: one older than the latest seen for its partition is stale and ignored.

Before ``__consumer_offsets`` exists (``topic_exists`` False) no group has records anywhere, so
every group is this coordinator's to answer for (unknown groups; writes create the topic), as the
single broker has always answered. A partition found neither owned nor loading is first offered to
``elect`` (the service elects it if this broker leads it: a topic created a moment ago, before its
creator came back to elect its partitions). Without a ``partition_for`` (state-machine tests) every
group is owned. Not thread-safe: the event loop owns it.
"""

from __future__ import annotations

from collections.abc import Callable

from protocol.errors import ErrorCode


class Ownership:
    def __init__(
        self,
        partition_for: Callable[[str], int] | None = None,
        topic_exists: Callable[[], bool] = lambda: True,
        elect: Callable[[int], None] = lambda partition: None,
    ) -> None:
        self.partition_for = partition_for
        self.topic_exists = topic_exists
        self.elect = elect
        self.owned: dict[int, int] = {}  # partition -> leader epoch, loaded
        self.loading: dict[int, int] = {}  # partition -> leader epoch of the load in progress
        self.epochs: dict[int, int] = {}  # partition -> the latest leader epoch seen (elected or resigned)

    def status(self, group_id: str) -> ErrorCode:
        """NONE when this coordinator answers for ``group_id``; else the code Kafka answers with."""
        if self.partition_for is None:
            return ErrorCode.NONE
        partition = self.partition_for(group_id)
        if partition not in self.loading and partition not in self.owned:
            if not self.topic_exists():
                return ErrorCode.NONE
            self.elect(partition)
        if partition in self.loading:
            return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        return ErrorCode.NONE if partition in self.owned else ErrorCode.NOT_COORDINATOR

    def owns(self, group_id: str) -> bool:
        """Whether ``group_id``'s partition is owned (loaded) now; no side effects, unlike ``status``."""
        if self.partition_for is None:
            return True
        return self.partition_for(group_id) in self.owned or not self.topic_exists()

    def is_loading_any(self) -> bool:
        return bool(self.loading)

    def _fresh(self, partition: int, epoch: int) -> bool:
        return epoch >= self.epochs.get(partition, -1)

    def begin_load(self, partition: int, epoch: int) -> bool:
        """Elected at ``epoch``: the load starts (False: a stale election, or one already owned or
        loading at this epoch, ignored)."""
        if not self._fresh(partition, epoch) or epoch in (self.owned.get(partition), self.loading.get(partition)):
            return False
        self.epochs[partition] = epoch
        self.owned.pop(partition, None)
        self.loading[partition] = epoch
        return True

    def is_loading(self, partition: int, epoch: int) -> bool:
        """The load of ``partition`` at ``epoch`` is still wanted (no newer election, no resignation)."""
        return self.loading.get(partition) == epoch

    def finish_load(self, partition: int, epoch: int) -> bool:
        if not self.is_loading(partition, epoch):
            return False
        del self.loading[partition]
        self.owned[partition] = epoch
        return True

    def resign(self, partition: int, epoch: int) -> bool:
        """No longer the leader from ``epoch`` on (False: stale, ignored). A load in progress stops."""
        if not self._fresh(partition, epoch):
            return False
        self.epochs[partition] = epoch
        self.owned.pop(partition, None)
        self.loading.pop(partition, None)
        return True

    def in_partition(self, group_id: str, partition: int) -> bool:
        return self.partition_for is not None and self.partition_for(group_id) == partition

"""Offsets committed inside a transaction (TxnOffsetCommit), pending until the transaction ends
(Kafka's pendingTransactionalOffsetCommits in GroupMetadata).

A transactional commit is appended to the group's ``__consumer_offsets`` partition as a
transactional batch of the producer; once that append completes its offsets wait here, per producer
id and group, invisible to OffsetFetch. The transaction's COMMIT marker in that partition applies
them (``take`` with ``commit=True``), an ABORT marker drops them. Replaying a partition does the same
with the batches and markers it reads, so a restart ends where the live coordinator was.

Not thread-safe: the event loop owns it.
"""

from __future__ import annotations

from collections.abc import Callable

from broker.coordinator.group.group import OffsetAndMetadata

TopicPartition = tuple[str, int]
GroupOffsets = dict[str, dict[TopicPartition, OffsetAndMetadata]]


class PendingTxnOffsets:
    def __init__(self) -> None:
        self.by_producer: dict[int, GroupOffsets] = {}

    def add(self, producer_id: int, group_id: str, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        self.by_producer.setdefault(producer_id, {}).setdefault(group_id, {}).update(offsets)

    def take(self, producer_id: int, in_partition: Callable[[str], bool]) -> GroupOffsets:
        """Remove and return the producer's pending offsets of the groups ``in_partition`` selects."""
        pending = self.by_producer.get(producer_id)
        if not pending:
            return {}
        taken = {g: o for g, o in pending.items() if in_partition(g)}
        for group_id in taken:
            del pending[group_id]
        if not pending:
            del self.by_producer[producer_id]
        return taken

    def has_pending(self, group_id: str, tp: TopicPartition) -> bool:
        return any(tp in groups.get(group_id, {}) for groups in self.by_producer.values())

    def drop_groups(self, in_partition: Callable[[str], bool]) -> None:
        for producer_id in list(self.by_producer):
            self.take(producer_id, in_partition)

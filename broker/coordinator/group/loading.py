"""Rebuilding groups from the records of ``__consumer_offsets`` (Kafka's GroupMetadataManager load).

``Replay`` folds records, in log order, into the latest state of each group: the last value of a
key wins and a tombstone removes it. It keeps only that state, so a partition can be replayed a
slice at a time. Offsets of a transactional batch wait in ``pending_txn`` for their producer's
marker: COMMIT applies them (as if committed at the marker), ABORT drops them.
``rebuild`` turns a stored GroupMetadataValue into a classic group: Stable with its members and
assignments when it had members, else Empty (members must heartbeat again after a load).
"""

from __future__ import annotations

from broker.coordinator.group import records
from broker.coordinator.group.group import GroupMetadata, MemberMetadata, OffsetAndMetadata
from broker.coordinator.group.state import GroupState

TopicPartition = tuple[str, int]


class Replay:
    def __init__(self) -> None:
        self.values: dict[str, records.GroupMetadataValue] = {}  # classic groups
        self.offsets: dict[str, dict[TopicPartition, OffsetAndMetadata]] = {}
        self.epochs: dict[str, int] = {}  # KIP-848 consumer groups
        # Transactional offsets whose marker was not read yet: producer id -> group -> offsets.
        self.pending_txn: dict[int, dict[str, dict[TopicPartition, OffsetAndMetadata]]] = {}

    def add(self, record: records.AnyRecord) -> None:
        if isinstance(record, records.TxnOffsetRecord):
            key, v = record.record.key, record.record.value
            if v is not None:
                pending = self.pending_txn.setdefault(record.producer_id, {}).setdefault(key.group, {})
                pending[(key.topic, key.partition)] = _offset(v)
            return
        if isinstance(record, records.TxnMarker):
            ended = self.pending_txn.pop(record.producer_id, {})
            if record.commit:
                for group_id, offsets in ended.items():
                    self.offsets.setdefault(group_id, {}).update(offsets)
            return
        if isinstance(record, records.ConsumerGroupRecord):
            if record.value is None:
                self.epochs.pop(record.key.group, None)
            else:
                self.epochs[record.key.group] = record.value.epoch
                self.values.pop(record.key.group, None)
        elif isinstance(record, records.OffsetRecord):
            key = record.key
            group_offsets = self.offsets.setdefault(key.group, {})
            if record.value is None:
                group_offsets.pop((key.topic, key.partition), None)
            else:
                group_offsets[(key.topic, key.partition)] = _offset(record.value)
        elif record.value is None:
            self.values.pop(record.key.group, None)
        else:
            self.values[record.key.group] = record.value
            self.epochs.pop(record.key.group, None)

    def classic_group_ids(self) -> set[str]:
        """Groups with classic metadata or offsets, and no consumer group record."""
        return (self.values.keys() | {g for g, o in self.offsets.items() if o}) - self.epochs.keys()


def _offset(v: records.OffsetCommitValue) -> OffsetAndMetadata:
    return OffsetAndMetadata(v.offset, v.leader_epoch, v.metadata, v.commit_timestamp, v.expire_timestamp)


def rebuild(group_id: str, value: records.GroupMetadataValue | None, now_ms: int) -> GroupMetadata:
    if value is None:
        return GroupMetadata(group_id, GroupState.EMPTY, now_ms)
    state = GroupState.STABLE if value.members else GroupState.EMPTY
    timestamp = value.current_state_timestamp if value.current_state_timestamp >= 0 else now_ms
    group = GroupMetadata(group_id, state, timestamp)
    group.generation_id = value.generation
    group.protocol_type = value.protocol_type
    group.protocol_name = value.protocol
    for m in value.members:
        protocols = [(value.protocol, m.subscription)] if value.protocol is not None else []
        member = MemberMetadata(
            m.member_id, m.group_instance_id, m.client_id, m.client_host,
            m.rebalance_timeout if m.rebalance_timeout > 0 else m.session_timeout, m.session_timeout,
            value.protocol_type, protocols, assignment=m.assignment,
        )  # fmt: skip
        group.add(member)
    group.protocol_type = value.protocol_type
    group.leader_id = value.leader if value.leader in group.members else group.leader_id
    if state is GroupState.STABLE:
        group.subscribed_topics = group.compute_subscribed_topics()
    return group

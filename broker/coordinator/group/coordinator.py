"""The group coordinator: membership (``membership.py``) plus committed offsets, group admin and loading.

Committed offsets live in the group (Kafka's GroupMetadata keeps them too); every change is appended
to the group's ``__consumer_offsets`` partition before it is applied, so what a client was told is
what a restart replays. A group that only stores offsets (a "simple" consumer committing with
generation -1 and no member id) is an Empty group with no protocol type, as in Kafka.

Offset retention (Kafka 2.1+, KIP-211): offsets of an Empty group expire ``offsets.retention.minutes``
after the group became empty; offsets of a Stable consumer group expire only for topics it no longer
subscribes to; a group with no protocol type (simple commits) expires each offset by its commit time;
an offset committed with an explicit retention (OffsetCommit v2-4) expires at its own time. An Empty
group left with no offsets is removed (Dead) and a tombstone written for it.

KIP-848 consumer groups (``consumer/``) live in ``self.consumer.groups``, never also in ``self.groups``:
a group id is one type at a time. Their offsets follow the same storage; commits are checked against
member epochs (STALE_MEMBER_EPOCH), and their offsets expire by commit time for topics no member
subscribes to (as Kafka's new coordinator does). A classic JoinGroup into a consumer group with
members gets INCONSISTENT_GROUP_PROTOCOL; into an empty one, the classic group replaces it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from broker.coordinator.group import records
from broker.coordinator.group.config import GroupConfig
from broker.coordinator.group.consumer.group import ConsumerGroup
from broker.coordinator.group.consumer.manager import ConsumerGroups, TopicLookup
from broker.coordinator.group.group import (
    CONSUMER_PROTOCOL_TYPE,
    GroupMetadata,
    JoinCallback,
    JoinResult,
    MemberMetadata,
    OffsetAndMetadata,
)
from broker.coordinator.group.membership import Membership, Protocols, RecordWriter
from broker.coordinator.group.state import GroupState
from broker.coordinator.group.timers import Scheduler
from protocol.errors import ErrorCode

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]


@dataclass(slots=True)
class MemberSummary:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    metadata: bytes
    assignment: bytes


@dataclass(slots=True)
class GroupSummary:
    """What DescribeGroups shows; an unknown group is Dead with nothing else, as in Kafka."""

    group_id: str
    state: str = "Dead"
    protocol_type: str = ""
    protocol: str = ""
    members: list[MemberSummary] = field(default_factory=list)


class GroupCoordinator(Membership):
    def __init__(
        self, config: GroupConfig, scheduler: Scheduler, writer: RecordWriter, topics: TopicLookup | None = None
    ) -> None:
        super().__init__(config, scheduler, writer)
        self.consumer = ConsumerGroups(config, scheduler, writer, self.groups, topics or dict)

    # -- JoinGroup into a consumer group -----------------------------------------------------------
    def join_group(
        self,
        group_id: str,
        member_id: str,
        instance_id: str | None,
        require_known_member_id: bool,
        supports_skip_assignment: bool,
        client_id: str,
        client_host: str,
        rebalance_timeout_ms: int,
        session_timeout_ms: int,
        protocol_type: str,
        protocols: Protocols,
        callback: JoinCallback,
    ) -> None:
        consumer_group = self.consumer.groups.get(group_id)
        if consumer_group is not None:
            if consumer_group.members:  # no online migration of members between protocols
                return callback(JoinResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id=member_id))
            error = self.writer.write(group_id, [(records.consumer_group_key(group_id), None)])
            if error is not ErrorCode.NONE:
                return callback(JoinResult(error, member_id=member_id))
            del self.consumer.groups[group_id]
            classic = GroupMetadata(group_id, GroupState.EMPTY, self.now())
            classic.offsets = consumer_group.offsets
            self.groups[group_id] = classic
            log.info("%r: replaces an empty consumer group", classic)
        super().join_group(
            group_id, member_id, instance_id, require_known_member_id, supports_skip_assignment, client_id,
            client_host, rebalance_timeout_ms, session_timeout_ms, protocol_type, protocols, callback,
        )  # fmt: skip

    # -- OffsetCommit ------------------------------------------------------------------------------
    def commit_offsets(
        self,
        group_id: str,
        member_id: str,
        instance_id: str | None,
        generation_id: int,
        offsets: dict[TopicPartition, OffsetAndMetadata],
    ) -> dict[TopicPartition, ErrorCode]:
        def every(error: ErrorCode) -> dict[TopicPartition, ErrorCode]:
            return dict.fromkeys(offsets, error)

        consumer_group = self.consumer.groups.get(group_id)
        if consumer_group is not None:
            error = self.consumer.validate_commit(consumer_group, member_id, generation_id)
            return every(error) if error is not ErrorCode.NONE else self._store_offsets(consumer_group, offsets)
        group = self.groups.get(group_id)
        if group is None:
            if generation_id >= 0:  # a member of a generation this coordinator never saw
                return every(ErrorCode.ILLEGAL_GENERATION)
            group = GroupMetadata(group_id, GroupState.EMPTY, self.now())
            self.groups[group_id] = group
        if group.is_(GroupState.DEAD):
            return every(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        if instance_id is not None and group.is_static_member_fenced(member_id, instance_id):
            return every(ErrorCode.FENCED_INSTANCE_ID)
        if not (generation_id < 0 and group.is_(GroupState.EMPTY)):  # else: a simple commit
            member = group.members.get(member_id)
            if member is None:
                return every(ErrorCode.UNKNOWN_MEMBER_ID)
            if generation_id != group.generation_id:
                return every(ErrorCode.ILLEGAL_GENERATION)
            if group.is_(GroupState.COMPLETING_REBALANCE):
                return every(ErrorCode.REBALANCE_IN_PROGRESS)
            self._schedule_heartbeat(group, member)
        return self._store_offsets(group, offsets)

    def _store_offsets(
        self, group: GroupMetadata | ConsumerGroup, offsets: dict[TopicPartition, OffsetAndMetadata]
    ) -> dict[TopicPartition, ErrorCode]:
        limit = self.config.offset_metadata_max_bytes
        result: dict[TopicPartition, ErrorCode] = {}
        valid: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, om in offsets.items():
            if len(om.metadata.encode()) > limit:
                result[tp] = ErrorCode.OFFSET_METADATA_TOO_LARGE
            else:
                valid[tp] = om
        if valid:
            batch: list[tuple[bytes, bytes | None]] = [
                (records.offset_key(group.group_id, t, p), records.offset_value(_offset_value(om)))
                for (t, p), om in valid.items()
            ]
            error = self.writer.write(group.group_id, batch)
            if error is ErrorCode.MESSAGE_TOO_LARGE:
                error = ErrorCode.INVALID_COMMIT_OFFSET_SIZE
            if error is ErrorCode.NONE:
                group.offsets.update(valid)
            result.update(dict.fromkeys(valid, error))
        if isinstance(group, GroupMetadata):
            self._forget_if_unused(group)
        return {tp: result[tp] for tp in offsets}

    # -- OffsetFetch -------------------------------------------------------------------------------
    def fetch_offsets(
        self, group_id: str, partitions: Iterable[TopicPartition] | None
    ) -> dict[TopicPartition, OffsetAndMetadata | None]:
        """Committed offsets of ``partitions`` (None: every partition with one); None where none is."""
        group = self.groups.get(group_id)
        committed = group.offsets if group is not None and not group.is_(GroupState.DEAD) else {}
        if group_id in self.consumer.groups:
            committed = self.consumer.groups[group_id].offsets
        if partitions is None:
            return dict(committed)
        return {tp: committed.get(tp) for tp in partitions}

    def check_offset_fetch(self, group_id: str, member_id: str | None, member_epoch: int) -> ErrorCode:
        """OffsetFetch v9's member check: consumer groups only (classic groups ignore it, as Kafka's do)."""
        group = self.consumer.groups.get(group_id)
        return ErrorCode.NONE if group is None else self.consumer.validate_fetch(group, member_id, member_epoch)

    # -- OffsetDelete ------------------------------------------------------------------------------
    def delete_offsets(
        self, group_id: str, partitions: list[TopicPartition]
    ) -> tuple[ErrorCode, dict[TopicPartition, ErrorCode]]:
        consumer_group = self.consumer.groups.get(group_id)
        if consumer_group is not None:
            subscribed = consumer_group.is_subscribed_to
            busy = {tp: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC for tp in partitions if subscribed(tp[0])}
            deletable = [tp for tp in partitions if tp not in busy and tp in consumer_group.offsets]
            error = self._write_offset_tombstones(consumer_group, deletable)
            return ErrorCode.NONE, {tp: busy.get(tp, error) for tp in partitions}
        group = self.groups.get(group_id)
        if group is None or group.is_(GroupState.DEAD):
            return ErrorCode.GROUP_ID_NOT_FOUND, {}
        errors: dict[TopicPartition, ErrorCode] = {}
        if not group.is_(GroupState.EMPTY):
            if group.protocol_type != CONSUMER_PROTOCOL_TYPE:
                return ErrorCode.NON_EMPTY_GROUP, {}
            for tp in partitions:
                if group.is_subscribed_to(tp[0]):
                    errors[tp] = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
        deletable = [tp for tp in partitions if tp not in errors and tp in group.offsets]
        error = self._write_offset_tombstones(group, deletable)
        for tp in partitions:
            errors.setdefault(tp, error)
        return ErrorCode.NONE, errors

    def _write_offset_tombstones(
        self, group: GroupMetadata | ConsumerGroup, partitions: list[TopicPartition]
    ) -> ErrorCode:
        if not partitions:
            return ErrorCode.NONE
        batch: list[tuple[bytes, bytes | None]] = [
            (records.offset_key(group.group_id, t, p), None) for t, p in partitions
        ]
        error = self.writer.write(group.group_id, batch)
        if error is ErrorCode.NONE:
            for tp in partitions:
                group.offsets.pop(tp, None)
        return error

    # -- DescribeGroups, ListGroups, DeleteGroups ---------------------------------------------------
    def describe_group(self, group_id: str) -> GroupSummary:
        group = self.groups.get(group_id)
        if group is None or group.is_(GroupState.DEAD):
            return GroupSummary(group_id)
        stable = group.is_(GroupState.STABLE) and group.protocol_name is not None
        members = [
            MemberSummary(
                m.member_id, m.group_instance_id, m.client_id, m.client_host,
                m.metadata(group.protocol_name) if stable and group.protocol_name else b"",
                m.assignment if stable else b"",
            )
            for m in group.members.values()
        ]  # fmt: skip
        return GroupSummary(
            group_id,
            str(group.state),
            group.protocol_type or "",
            (group.protocol_name or "") if stable else "",
            members,
        )

    def list_groups(self, states: set[GroupState] | None = None) -> list[GroupMetadata]:
        return [g for g in self.groups.values() if not g.is_(GroupState.DEAD) and (not states or g.state in states)]

    def delete_groups(self, group_ids: list[str]) -> dict[str, ErrorCode]:
        result: dict[str, ErrorCode] = {}
        for group_id in group_ids:
            consumer_group = self.consumer.groups.get(group_id)
            if consumer_group is not None:
                result[group_id] = self.consumer.delete(consumer_group)
                continue
            group = self.groups.get(group_id)
            if group is None or group.is_(GroupState.DEAD):
                result[group_id] = ErrorCode.GROUP_ID_NOT_FOUND
            elif not group.is_(GroupState.EMPTY):
                result[group_id] = ErrorCode.NON_EMPTY_GROUP
            else:
                result[group_id] = self._remove_group(group)
        return result

    def _remove_group(self, group: GroupMetadata) -> ErrorCode:
        """Tombstones for the group and its offsets, then it is Dead and forgotten."""
        batch: list[tuple[bytes, bytes | None]] = [
            (records.offset_key(group.group_id, t, p), None) for t, p in group.offsets
        ]
        batch.append((records.group_key(group.group_id), None))
        error = self.writer.write(group.group_id, batch)
        if error is not ErrorCode.NONE:
            return error
        group.transition_to(GroupState.DEAD, self.now())
        self.cancel_group_timers(group)
        group.offsets.clear()
        del self.groups[group.group_id]
        log.info("%r: deleted", group)
        return ErrorCode.NONE

    # -- retention ---------------------------------------------------------------------------------
    def expire_offsets(self) -> int:
        """Remove expired offsets (and groups left with nothing); returns how many offsets expired."""
        now = self.now()
        retention = self.config.offsets_retention_ms
        expired_total = 0
        for group in list(self.groups.values()):
            if group.is_(GroupState.EMPTY) and group.protocol_type:
                base: int | None = group.state_timestamp
                keep_topics: set[str] = set()
            elif group.protocol_type is None or group.protocol_type == "":
                base, keep_topics = None, set()
            elif (
                group.protocol_type == CONSUMER_PROTOCOL_TYPE
                and group.is_(GroupState.STABLE)
                and group.subscribed_topics is not None
            ):
                base, keep_topics = None, group.subscribed_topics
            else:
                continue
            expired = [
                tp
                for tp, om in group.offsets.items()
                if tp[0] not in keep_topics
                and (
                    now >= om.expire_timestamp
                    if om.expire_timestamp >= 0
                    else now - (base if base is not None else om.commit_timestamp) >= retention
                )
            ]
            if expired and self._write_offset_tombstones(group, expired) is ErrorCode.NONE:
                expired_total += len(expired)
                log.info("%r: %d offset(s) expired", group, len(expired))
            if group.is_(GroupState.EMPTY) and not group.offsets and not group.members:
                self._remove_group(group)
        expired_total += self.consumer.expire_offsets(now, retention)
        return expired_total

    # -- loading -----------------------------------------------------------------------------------
    def load(self, replayed: Iterable[records.AnyRecord]) -> None:
        """Rebuild groups from the records of ``__consumer_offsets``, in log order."""
        values: dict[str, records.GroupMetadataValue] = {}
        offsets: dict[str, dict[TopicPartition, OffsetAndMetadata]] = {}
        epochs: dict[str, int] = {}  # consumer groups
        for record in replayed:
            if isinstance(record, records.ConsumerGroupRecord):
                if record.value is None:
                    epochs.pop(record.key.group, None)
                else:
                    epochs[record.key.group] = record.value.epoch
                    values.pop(record.key.group, None)
            elif isinstance(record, records.OffsetRecord):
                key = record.key
                group_offsets = offsets.setdefault(key.group, {})
                if record.value is None:
                    group_offsets.pop((key.topic, key.partition), None)
                else:
                    v = record.value
                    group_offsets[(key.topic, key.partition)] = OffsetAndMetadata(
                        v.offset, v.leader_epoch, v.metadata, v.commit_timestamp, v.expire_timestamp
                    )
            elif record.value is None:
                values.pop(record.key.group, None)
            else:
                values[record.key.group] = record.value
                epochs.pop(record.key.group, None)
        self.consumer.load(epochs, offsets)
        for group_id in (values.keys() | {g for g, o in offsets.items() if o}) - epochs.keys():
            group = _rebuild(group_id, values.get(group_id), self.now())
            group.offsets = offsets.get(group_id, {})
            self.groups[group_id] = group
            for member in group.members.values():
                self._schedule_heartbeat(group, member)
        log.info("loaded %d group(s) from __consumer_offsets", len(self.groups) + len(self.consumer.groups))


def _offset_value(om: OffsetAndMetadata) -> records.OffsetCommitValue:
    return records.OffsetCommitValue(
        offset=om.offset,
        leader_epoch=om.leader_epoch,
        metadata=om.metadata,
        commit_timestamp=om.commit_timestamp,
        expire_timestamp=om.expire_timestamp,
    )


def _rebuild(group_id: str, value: records.GroupMetadataValue | None, now_ms: int) -> GroupMetadata:
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

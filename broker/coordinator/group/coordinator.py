"""The group coordinator: membership (``membership.py``) plus committed offsets, group admin and loading.

Committed offsets live in the group (Kafka's GroupMetadata keeps them too); every change is appended
to the group's ``__consumer_offsets`` partition and the client is answered once the append completes
(committed), so what a client was told is what a restart replays. A commit is pending while its
append is in flight (Kafka's pendingOffsetCommits: fetches still see the previous offset) and applied
when it completes; deletions (OffsetDelete, DeleteGroups) apply at once and are undone if their
tombstones cannot be stored. Expired offsets go at once and their tombstones follow (a failure is
logged; the offsets come back on the next load and expire again), as Kafka's cleanup does.

A group that only stores offsets (a "simple" consumer committing with generation -1 and no member
id) is an Empty group with no protocol type, as in Kafka.

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

import functools
import logging
from collections.abc import Callable, Iterable
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
    OffsetAndMetadata,
    SyncResult,
)
from broker.coordinator.group.loading import Replay, rebuild
from broker.coordinator.group.membership import Membership, Protocols
from broker.coordinator.group.ownership import Ownership
from broker.coordinator.group.state import GroupState
from broker.coordinator.group.timers import Scheduler
from broker.coordinator.group.txn_offsets import PendingTxnOffsets
from broker.coordinator.group.writes import RecordWriter, delete_group, log_failure, offset_tombstones
from protocol.errors import ErrorCode

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]
CommitCallback = Callable[[dict[TopicPartition, ErrorCode]], None]
DeleteOffsetsCallback = Callable[[tuple[ErrorCode, dict[TopicPartition, ErrorCode]]], None]
DeleteGroupsCallback = Callable[[dict[str, ErrorCode]], None]
Done = Callable[[ErrorCode], None]


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
    """What DescribeGroups shows; an unknown group is Dead with nothing else, as in Kafka. With an
    error (not the coordinator, loading) the state is empty, as Kafka's EmptyGroup."""

    group_id: str
    state: str = "Dead"
    protocol_type: str = ""
    protocol: str = ""
    members: list[MemberSummary] = field(default_factory=list)
    error: ErrorCode = ErrorCode.NONE


class GroupCoordinator(Membership):
    def __init__(
        self,
        config: GroupConfig,
        scheduler: Scheduler,
        writer: RecordWriter,
        topics: TopicLookup | None = None,
        ownership: Ownership | None = None,
    ) -> None:
        super().__init__(config, scheduler, writer, ownership)
        self.consumer = ConsumerGroups(config, scheduler, writer, self.groups, topics or dict, self.ownership)
        self.txn_offsets = PendingTxnOffsets()

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
        def join() -> None:
            Membership.join_group(
                self, group_id, member_id, instance_id, require_known_member_id, supports_skip_assignment,
                client_id, client_host, rebalance_timeout_ms, session_timeout_ms, protocol_type, protocols,
                callback,
            )  # fmt: skip

        consumer_group = self.consumer.groups.get(group_id)
        if consumer_group is None or self.ownership.status(group_id) is not ErrorCode.NONE:
            return join()
        if consumer_group.members:  # no online migration of members between protocols
            return callback(JoinResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id=member_id))

        def converted(error: ErrorCode) -> None:
            if error is not ErrorCode.NONE:
                return callback(JoinResult(error, member_id=member_id))
            if self.consumer.groups.get(group_id) is consumer_group:
                if consumer_group.members:  # members joined while the tombstone was appended
                    return callback(JoinResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id=member_id))
                del self.consumer.groups[group_id]
                classic = GroupMetadata(group_id, GroupState.EMPTY, self.now())
                classic.offsets = consumer_group.offsets
                classic.pending_offset_commits = consumer_group.pending_offset_commits
                self.groups[group_id] = classic
                log.info("%r: replaces an empty consumer group", classic)
            join()

        self.writer.append(group_id, [(records.consumer_group_key(group_id), None)], converted)

    # -- OffsetCommit ------------------------------------------------------------------------------
    def commit_offsets(
        self,
        group_id: str,
        member_id: str,
        instance_id: str | None,
        generation_id: int,
        offsets: dict[TopicPartition, OffsetAndMetadata],
        callback: CommitCallback,
        producer: tuple[int, int] | None = None,
    ) -> None:
        """Answers ``callback`` with an error per partition once the commit's append completes.
        ``producer`` (id, epoch): TxnOffsetCommit, the offsets stay pending until the transaction's
        marker (``complete_transaction``)."""

        def every(error: ErrorCode) -> None:
            callback(dict.fromkeys(offsets, error))

        status = self.ownership.status(group_id)
        if status is not ErrorCode.NONE:
            return every(status)
        consumer_group = self.consumer.groups.get(group_id)
        if consumer_group is not None:
            error = self.consumer.validate_commit(consumer_group, member_id, generation_id)
            if error is not ErrorCode.NONE:
                return every(error)
            return self._store_offsets(consumer_group, offsets, callback, producer)
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
        self._store_offsets(group, offsets, callback, producer)

    def _store_offsets(
        self,
        group: GroupMetadata | ConsumerGroup,
        offsets: dict[TopicPartition, OffsetAndMetadata],
        callback: CommitCallback,
        producer: tuple[int, int] | None = None,
    ) -> None:
        limit = self.config.offset_metadata_max_bytes
        result: dict[TopicPartition, ErrorCode] = {}
        valid: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, om in offsets.items():
            if len(om.metadata.encode()) > limit:
                result[tp] = ErrorCode.OFFSET_METADATA_TOO_LARGE
            else:
                valid[tp] = om

        def answer() -> None:
            if isinstance(group, GroupMetadata):
                self._forget_if_unused(group)
            callback({tp: result[tp] for tp in offsets})

        if not valid:
            return answer()
        batch: list[tuple[bytes, bytes | None]] = [
            (records.offset_key(group.group_id, t, p), records.offset_value(_offset_value(om)))
            for (t, p), om in valid.items()
        ]
        pending = group.pending_offset_commits
        for tp in valid:
            pending[tp] = pending.get(tp, 0) + 1

        def stored(error: ErrorCode) -> None:
            for tp in valid:
                left = pending.get(tp, 1) - 1
                if left > 0:
                    pending[tp] = left
                else:
                    pending.pop(tp, None)
            if error in (ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.RECORD_LIST_TOO_LARGE):
                error = ErrorCode.INVALID_COMMIT_OFFSET_SIZE
            if error is ErrorCode.NONE and not _dead(group):
                if producer is None:
                    group.offsets.update(valid)
                else:
                    self.txn_offsets.add(producer[0], group.group_id, valid)
            result.update(dict.fromkeys(valid, error))
            answer()

        self.writer.append(group.group_id, batch, stored, producer)

    def complete_transaction(self, producer_id: int, offsets_partitions: set[int], commit: bool) -> None:
        """The producer's transaction marker is committed in these ``__consumer_offsets`` partitions:
        its pending offsets of their groups are applied (commit) or dropped (abort)."""
        partition_for = self.ownership.partition_for
        ended = self.txn_offsets.take(
            producer_id, lambda g: partition_for is None or partition_for(g) in offsets_partitions
        )
        if not commit:
            return
        for group_id, offsets in ended.items():
            consumer_group = self.consumer.groups.get(group_id)
            if consumer_group is not None:
                consumer_group.offsets.update(offsets)
                continue
            group = self.groups.get(group_id)
            if group is None:
                group = self.groups[group_id] = GroupMetadata(group_id, GroupState.EMPTY, self.now())
            if not group.is_(GroupState.DEAD):
                group.offsets.update(offsets)

    # -- OffsetFetch -------------------------------------------------------------------------------
    def fetch_offsets(
        self, group_id: str, partitions: Iterable[TopicPartition] | None
    ) -> dict[TopicPartition, OffsetAndMetadata | None]:
        """Committed offsets of ``partitions`` (None: every partition with one); None where none is.
        Commits still in flight are not shown (their appends are not committed yet)."""
        group = self.groups.get(group_id)
        committed = group.offsets if group is not None and not group.is_(GroupState.DEAD) else {}
        if group_id in self.consumer.groups:
            committed = self.consumer.groups[group_id].offsets
        if partitions is None:
            return dict(committed)
        return {tp: committed.get(tp) for tp in partitions}

    def check_offset_fetch(self, group_id: str, member_id: str | None, member_epoch: int) -> ErrorCode:
        """Whether this coordinator answers for the group; then OffsetFetch v9's member check
        (consumer groups only: classic groups ignore it, as Kafka's do)."""
        status = self.ownership.status(group_id)
        if status is not ErrorCode.NONE:
            return status
        group = self.consumer.groups.get(group_id)
        return ErrorCode.NONE if group is None else self.consumer.validate_fetch(group, member_id, member_epoch)

    # -- OffsetDelete ------------------------------------------------------------------------------
    def delete_offsets(self, group_id: str, partitions: list[TopicPartition], callback: DeleteOffsetsCallback) -> None:
        """The group-level error and one per partition, once the tombstones are committed."""
        status = self.ownership.status(group_id)
        if status is not ErrorCode.NONE:
            return callback((status, {}))
        consumer_group = self.consumer.groups.get(group_id)
        if consumer_group is not None:
            subscribed = consumer_group.is_subscribed_to
            busy = {tp: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC for tp in partitions if subscribed(tp[0])}
            deletable = [tp for tp in partitions if tp not in busy and tp in consumer_group.offsets]

            def consumer_done(error: ErrorCode) -> None:
                callback((ErrorCode.NONE, {tp: busy.get(tp, error) for tp in partitions}))

            return self._delete_offsets(consumer_group, deletable, consumer_done)
        group = self.groups.get(group_id)
        if group is None or group.is_(GroupState.DEAD):
            return callback((ErrorCode.GROUP_ID_NOT_FOUND, {}))
        errors: dict[TopicPartition, ErrorCode] = {}
        if not group.is_(GroupState.EMPTY):
            if group.protocol_type != CONSUMER_PROTOCOL_TYPE:
                return callback((ErrorCode.NON_EMPTY_GROUP, {}))
            for tp in partitions:
                if group.is_subscribed_to(tp[0]):
                    errors[tp] = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
        deletable = [tp for tp in partitions if tp not in errors and tp in group.offsets]

        def done(error: ErrorCode) -> None:
            for tp in partitions:
                errors.setdefault(tp, error)
            callback((ErrorCode.NONE, errors))

        self._delete_offsets(group, deletable, done)

    def _delete_offsets(
        self, group: GroupMetadata | ConsumerGroup, partitions: list[TopicPartition], done: Done
    ) -> None:
        """Remove the offsets at once and append their tombstones; put them back if that fails."""
        if not partitions:
            return done(ErrorCode.NONE)
        removed = {tp: group.offsets.pop(tp) for tp in partitions if tp in group.offsets}

        def stored(error: ErrorCode) -> None:
            if error is not ErrorCode.NONE:
                for tp, om in removed.items():
                    group.offsets.setdefault(tp, om)  # unless committed again meanwhile
            done(error)

        self.writer.append(group.group_id, offset_tombstones(group.group_id, partitions), stored)

    # -- DescribeGroups, ListGroups, DeleteGroups ---------------------------------------------------
    def describe_group(self, group_id: str) -> GroupSummary:
        status = self.ownership.status(group_id)
        if status is not ErrorCode.NONE:
            return GroupSummary(group_id, state="", error=status)
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

    def list_groups_error(self) -> ErrorCode:
        """ListGroups' error: COORDINATOR_LOAD_IN_PROGRESS while a partition loads (its groups are missing)."""
        return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS if self.ownership.is_loading_any() else ErrorCode.NONE

    def delete_groups(self, group_ids: list[str], callback: DeleteGroupsCallback) -> None:
        """One error per group, answered once every deletion's tombstones are committed."""
        group_ids = list(dict.fromkeys(group_ids))
        result: dict[str, ErrorCode] = {}
        waiting = set(group_ids)

        def done(group_id: str, error: ErrorCode) -> None:
            result[group_id] = error
            waiting.discard(group_id)
            if not waiting:
                callback({g: result[g] for g in group_ids})

        for group_id in group_ids:
            status = self.ownership.status(group_id)
            consumer_group = self.consumer.groups.get(group_id)
            group = self.groups.get(group_id)
            if status is not ErrorCode.NONE:
                done(group_id, status)
            elif consumer_group is not None:
                self.consumer.delete(consumer_group, functools.partial(done, group_id))
            elif group is None or group.is_(GroupState.DEAD):
                done(group_id, ErrorCode.GROUP_ID_NOT_FOUND)
            elif not group.is_(GroupState.EMPTY):
                done(group_id, ErrorCode.NON_EMPTY_GROUP)
            else:
                self._remove_group(group, functools.partial(done, group_id))
        if not group_ids:
            callback({})

    def _remove_group(self, group: GroupMetadata, done: Done) -> None:
        """Tombstones for the group and its offsets; it is Dead and forgotten at once, and back as it
        was if the tombstones cannot be stored (and nothing took its place meanwhile)."""
        group_id = group.group_id
        state, timestamp = group.state, group.state_timestamp

        def forget() -> None:
            group.transition_to(GroupState.DEAD, self.now())
            self.cancel_group_timers(group)
            del self.groups[group_id]

        def restore() -> None:
            group.restore_state(state, timestamp)
            self.groups[group_id] = group

        def vacant() -> bool:
            return (
                group_id not in self.groups and group_id not in self.consumer.groups and self.ownership.owns(group_id)
            )

        delete_group(self.writer, group, records.group_key(group_id), forget, vacant, restore, done)

    # -- retention ---------------------------------------------------------------------------------
    def expire_offsets(self) -> int:
        """Remove expired offsets (and groups left with nothing); returns how many offsets expired.
        They go at once and their tombstones follow (Kafka's cleanupGroupMetadata)."""
        now = self.now()
        retention = self.config.offsets_retention_ms
        expired_total = 0
        for group in list(self.groups.values()):
            if group.is_(GroupState.DEAD):
                continue
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
                and tp not in group.pending_offset_commits
                and (
                    now >= om.expire_timestamp
                    if om.expire_timestamp >= 0
                    else now - (base if base is not None else om.commit_timestamp) >= retention
                )
            ]
            if expired:
                for tp in expired:
                    del group.offsets[tp]
                self.writer.append(
                    group.group_id, offset_tombstones(group.group_id, expired), log_failure(group, "expiry")
                )
                expired_total += len(expired)
                log.info("%r: %d offset(s) expired", group, len(expired))
            if (
                group.is_(GroupState.EMPTY)
                and not group.offsets
                and not group.members
                and not group.pending_offset_commits
            ):
                self._remove_group(group, log_failure(group, "removal"))
        expired_total += self.consumer.expire_offsets(now, retention)
        return expired_total

    # -- loading and unloading ---------------------------------------------------------------------
    def load(self, replayed: Iterable[records.AnyRecord]) -> None:
        """Rebuild groups from the records of ``__consumer_offsets``, in log order."""
        replay = Replay()
        for record in replayed:
            replay.add(record)
        self.install(replay)

    def install(self, replay: Replay) -> None:
        """Add the groups a partition's replay rebuilt (one step: no await)."""
        self.consumer.load(replay.epochs, replay.offsets)
        for producer_id, by_group in replay.pending_txn.items():
            for group_id, pending in by_group.items():
                self.txn_offsets.add(producer_id, group_id, pending)
        for group_id in replay.classic_group_ids():
            group = rebuild(group_id, replay.values.get(group_id), self.now())
            group.offsets = replay.offsets.get(group_id, {})
            self.groups[group_id] = group
            for member in group.members.values():
                self._schedule_heartbeat(group, member)
        log.info("loaded %d group(s) from __consumer_offsets", len(replay.classic_group_ids()) + len(replay.epochs))

    def unload_partition(self, partition: int) -> int:
        """Drop the groups of ``partition`` (another broker coordinates them now): they become Dead,
        their timers stop, and members waiting on a JoinGroup or SyncGroup get NOT_COORDINATOR."""
        dropped = 0
        for group in [g for g in self.groups.values() if self.ownership.in_partition(g.group_id, partition)]:
            self.cancel_group_timers(group)
            for member in group.members.values():
                if member.awaiting_join is not None:
                    join, member.awaiting_join = member.awaiting_join, None
                    join(JoinResult(ErrorCode.NOT_COORDINATOR, member_id=member.member_id))
                if member.awaiting_sync is not None:
                    sync, member.awaiting_sync = member.awaiting_sync, None
                    sync(SyncResult(ErrorCode.NOT_COORDINATOR))
            group.transition_to(GroupState.DEAD, self.now())
            del self.groups[group.group_id]
            dropped += 1
        dropped += self.consumer.unload_partition(partition)
        self.txn_offsets.drop_groups(lambda g: self.ownership.in_partition(g, partition))
        log.info("unloaded %d group(s) of __consumer_offsets-%d", dropped, partition)
        return dropped


def _dead(group: GroupMetadata | ConsumerGroup) -> bool:
    return group.dead if isinstance(group, ConsumerGroup) else group.is_(GroupState.DEAD)


def _offset_value(om: OffsetAndMetadata) -> records.OffsetCommitValue:
    return records.OffsetCommitValue(
        offset=om.offset,
        leader_epoch=om.leader_epoch,
        metadata=om.metadata,
        commit_timestamp=om.commit_timestamp,
        expire_timestamp=om.expire_timestamp,
    )

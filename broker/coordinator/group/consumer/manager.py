"""ConsumerGroupHeartbeat: how KIP-848 members join, reconcile, leave and are fenced (Kafka's GroupMetadataManager).

One heartbeat, in order (every step runs to completion; the event loop owns the state):

1. The request is checked (INVALID_REQUEST with Kafka's messages, UNSUPPORTED_ASSIGNOR,
   INVALID_REGULAR_EXPRESSION). Epoch -1 leaves; -2 is a static member's temporary leave.
2. The group is found, or created by a join (epoch 0). An empty classic group (offsets only) becomes
   a consumer group and keeps its offsets; a classic group with members: GROUP_ID_NOT_FOUND.
3. The member is found (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH for an epoch ahead of the
   coordinator's or behind it other than the previous epoch with a subset of the assignment;
   static members: UNRELEASED_INSTANCE_ID, FENCED_INSTANCE_ID) or created; v0 joins get an id from
   the coordinator, v1 clients bring their own. A known member joining again with epoch 0 rejoins.
4. A new member, a changed subscription or a changed partition count of a subscribed topic bumps
   the group epoch (stored as a ConsumerGroupMetadata record); a group epoch ahead of the target
   assignment's makes the group's assignor compute a new target.
5. The member reconciles one step (``member.reconcile``); one that must revoke partitions has its
   rebalance timeout to do so, or it is fenced. Every heartbeat restarts the session timeout
   (``group.consumer.session.timeout.ms``); a member that misses it is removed.

The response carries the assignment when the member sent a full request or its assignment changed.

Writes follow Kafka's new coordinator: a change is applied at once, its record appended, and the
answer (``callback``) goes out when the append completes; if it fails, the group is put back as it
was before the change (unless a later change of the group is in flight too) and the member gets the
error (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, ...). Groups of partitions this broker does not
own or is loading get NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS (``ownership``).

Persistence: the group epoch (ConsumerGroupMetadata records) and committed offsets are stored, so a
group and its offsets survive a restart and epochs never repeat; members, subscriptions and
assignments are not: after a restart members get UNKNOWN_MEMBER_ID and rejoin, as if their sessions
had expired. Regex subscriptions use Python's ``re`` (full match) where Kafka uses RE2/J: the same
for common patterns (``orders\\..*``, ``a|b``), but possessive quantifiers and some classes differ.
"""

from __future__ import annotations

import base64
import copy
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from broker.coordinator.group import records
from broker.coordinator.group.config import GroupConfig
from broker.coordinator.group.consumer.assignors import ASSIGNORS
from broker.coordinator.group.consumer.group import ConsumerGroup
from broker.coordinator.group.consumer.member import (
    JOIN_EPOCH,
    LEAVE_EPOCH,
    STATIC_LEAVE_EPOCH,
    ConsumerMember,
    MemberState,
    reconcile,
)
from broker.coordinator.group.consumer.validation import (
    Heartbeat,
    HeartbeatError,
    HeartbeatResult,
    apply_request,
    check_epoch,
    validate,
)
from broker.coordinator.group.group import GroupMetadata, OffsetAndMetadata
from broker.coordinator.group.ownership import Ownership
from broker.coordinator.group.timers import Scheduler, Timer
from broker.coordinator.group.writes import RecordWriter, delete_group, log_failure, offset_tombstones
from protocol.errors import ErrorCode

log = logging.getLogger(__name__)

TopicLookup = Callable[[], Mapping[str, int]]  # every non-internal topic -> its partition count
HeartbeatCallback = Callable[[HeartbeatResult], None]
Done = Callable[[ErrorCode], None]

STATUS_MESSAGES = {
    ErrorCode.NOT_COORDINATOR: "This is not the correct coordinator.",
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS: "The coordinator is loading and hence can't process requests.",
    ErrorCode.COORDINATOR_NOT_AVAILABLE: "The coordinator is not available.",
}


@dataclass(slots=True)
class _Snapshot:
    """A consumer group as it was before a change whose record is being appended (to undo it)."""

    group_epoch: int
    assignment_epoch: int
    members: dict[str, ConsumerMember]
    static_members: dict[str, str]
    target: dict[str, dict[str, set[int]]]
    owners: dict[tuple[str, int], str]
    subscription_metadata: dict[str, int]
    was_known: bool  # in ``groups`` before the change (else the change created it)
    classic: GroupMetadata | None  # the empty classic group the change replaced, if any


def new_member_id() -> str:
    """What Kafka's ``Uuid.randomUuid().toString()`` looks like: 22 characters of URL-safe base64."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


class ConsumerGroups:
    def __init__(
        self,
        config: GroupConfig,
        scheduler: Scheduler,
        writer: RecordWriter,
        classic: dict[str, GroupMetadata],
        topics: TopicLookup,
        ownership: Ownership | None = None,
    ) -> None:
        self.ownership = ownership or Ownership()
        self.config = config
        self.scheduler = scheduler
        self.writer = writer
        self.classic = classic  # the classic coordinator's groups: a group id lives in one map only
        self.topics = topics
        self.groups: dict[str, ConsumerGroup] = {}
        self.assignors = [name for name in config.consumer_assignors if name in ASSIGNORS] or ["uniform"]
        self._sessions: dict[tuple[str, str], Timer] = {}
        self._revocations: dict[tuple[str, str], Timer] = {}
        self._last_write: dict[str, object] = {}  # group id -> the token of its latest append in flight

    # -- the heartbeat -----------------------------------------------------------------------------
    def heartbeat(self, hb: Heartbeat, callback: HeartbeatCallback) -> None:
        """Answers ``callback`` once, at once or when the heartbeat's record is committed."""
        try:
            status = self.ownership.status(hb.group_id)
            if status is not ErrorCode.NONE:
                raise HeartbeatError(status, STATUS_MESSAGES.get(status, status.name))
            validate(hb, self.assignors)
            if hb.member_epoch in (LEAVE_EPOCH, STATIC_LEAVE_EPOCH):
                self._leave(hb, callback)
            else:
                self._heartbeat(hb, callback)
        except HeartbeatError as exc:
            callback(HeartbeatResult(exc.error, exc.message))

    def _heartbeat(self, hb: Heartbeat, callback: HeartbeatCallback) -> None:
        joining = hb.member_epoch == JOIN_EPOCH
        group, converted = self._group_for(hb.group_id, create=joining)
        member_id = hb.member_id or new_member_id()
        existing, replaced = self._find_member(group, hb, member_id)
        member = copy.copy(existing) if existing is not None else ConsumerMember(member_id)
        member.member_id = member_id
        before = existing.owned_partitions() if existing is not None else set()
        if replaced is not None:
            before = replaced.owned_partitions()
            member.member_epoch = JOIN_EPOCH  # reconciles again, keeping what it still owns
        apply_request(member, hb)
        subscription_changed = existing is None or (
            set(member.subscribed_topic_names) != set(existing.subscribed_topic_names)
            or member.subscribed_topic_regex != existing.subscribed_topic_regex
        )
        skip = {member_id} | ({replaced.member_id} if replaced is not None else set())
        others = [m for m in group.members.values() if m.member_id not in skip]
        metadata = self._subscription_metadata(group, [*others, member])
        bump = group.group_epoch == 0 or subscription_changed or metadata != group.subscription_metadata
        undo = self._snapshot(group) if bump else None
        if self.groups.get(group.group_id) is not group:
            self._adopt(group)
        if replaced is not None:
            target = group.target.get(replaced.member_id)
            group.remove(replaced.member_id)
            self._cancel_member_timers(group.group_id, replaced.member_id)
            if target is not None:
                group.target[member_id] = target
            log.info("%r: static member %s rejoins as %s", group, member.instance_id, member_id)
        elif existing is None:
            log.info("%r: member %s joins (client %s at %s)", group, member_id, hb.client_id, hb.client_host)
        if bump:
            group.group_epoch += 1
            group.subscription_metadata = metadata
            log.info("%r: group epoch bumped", group)
        group.put(member, before)
        if group.group_epoch > group.assignment_epoch:
            self._compute_target(group)
        before = member.owned_partitions()
        previously_assigned = existing.assigned if existing is not None and replaced is None else None
        reconcile(member, group.assignment_epoch, group.target.get(member_id, {}), hb.owned, group.owner_of)
        group.put(member, before)
        self._schedule_revocation(group, member)
        self._schedule_session(group, member_id)
        full = joining or (
            hb.rebalance_timeout_ms != -1 and hb.subscribed_topic_names is not None and hb.owned is not None
        )
        result = HeartbeatResult(
            ErrorCode.NONE,
            member_id=member_id,
            member_epoch=member.member_epoch,
            heartbeat_interval_ms=self.config.consumer_heartbeat_interval_ms,
            assignment=member.assigned if full or member.assigned != previously_assigned else None,
        )
        if undo is None:
            return callback(result)
        extra: list[tuple[bytes, bytes | None]] = [(records.group_key(group.group_id), None)] if converted else []

        def stored(error: ErrorCode) -> None:
            callback(result if error is ErrorCode.NONE else _failed(error))

        self._write_epoch(group, undo, stored, extra)

    def _group_for(self, group_id: str, create: bool) -> tuple[ConsumerGroup, bool]:
        """The consumer group, or a new one (True: it replaces an empty classic group)."""
        group = self.groups.get(group_id)
        if group is not None:
            return group, False
        classic = self.classic.get(group_id)
        if classic is not None and (classic.members or classic.pending_members or not create):
            raise HeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} is not a consumer group.")
        if not create:
            raise HeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, f"Consumer group {group_id} not found.")
        return ConsumerGroup(group_id), classic is not None

    def _adopt(self, group: ConsumerGroup) -> None:
        """The group becomes known; an empty classic group it replaces hands over its offsets."""
        classic = self.classic.pop(group.group_id, None)
        if classic is not None:
            group.offsets = classic.offsets
            group.pending_offset_commits = classic.pending_offset_commits
            log.info("%r: replaces an empty classic group", group)
        self.groups[group.group_id] = group

    def _find_member(
        self, group: ConsumerGroup, hb: Heartbeat, member_id: str
    ) -> tuple[ConsumerMember | None, ConsumerMember | None]:
        """(the member as it is now or None if new, the static member it replaces or None)."""
        joining = hb.member_epoch == JOIN_EPOCH
        if hb.instance_id is None:
            member = group.members.get(member_id)
            if member is None and not joining:
                raise HeartbeatError(
                    ErrorCode.UNKNOWN_MEMBER_ID, f"Member {member_id} is not a member of group {group.group_id}."
                )
            if member is not None and not joining:
                check_epoch(member, hb)
            return member, None
        static = group.static_member(hb.instance_id)
        if joining:
            if static is None:
                return group.members.get(member_id), None
            if static.member_id == member_id:
                return static, None
            if static.member_epoch != STATIC_LEAVE_EPOCH:
                raise HeartbeatError(
                    ErrorCode.UNRELEASED_INSTANCE_ID,
                    f"Static member {member_id} with instance id {hb.instance_id} cannot join the group "
                    f"because the instance id is owned by {static.member_id} member.",
                )
            return static, static
        if static is None:
            raise HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {hb.instance_id} is unknown.")
        if static.member_id != member_id:
            raise HeartbeatError(
                ErrorCode.FENCED_INSTANCE_ID,
                f"Static member {member_id} with instance id {hb.instance_id} was fenced by member {static.member_id}.",
            )
        check_epoch(static, hb)
        return static, None

    def _subscription_metadata(self, group: ConsumerGroup, members: list[ConsumerMember]) -> dict[str, int]:
        existing = self.topics()
        names = sorted(existing)
        wanted: set[str] = set()
        for member in members:
            wanted |= group.member_topics(member, names)
        return {t: existing[t] for t in sorted(wanted) if t in existing}

    def _compute_target(self, group: ConsumerGroup) -> None:
        names = sorted(group.subscription_metadata)
        subscriptions = {
            m.member_id: group.member_topics(m, names) & group.subscription_metadata.keys()
            for m in group.members.values()
        }
        assignor = group.preferred_assignor(self.assignors[0])
        group.target = ASSIGNORS[assignor](subscriptions, group.subscription_metadata, group.target)
        group.assignment_epoch = group.group_epoch
        log.info("%r: target assignment of epoch %d computed by %s", group, group.assignment_epoch, assignor)

    # -- storing the group epoch -------------------------------------------------------------------
    def _snapshot(self, group: ConsumerGroup) -> _Snapshot:
        known = self.groups.get(group.group_id) is group
        return _Snapshot(
            group.group_epoch,
            group.assignment_epoch,
            {member_id: copy.copy(m) for member_id, m in group.members.items()},
            dict(group.static_members),
            dict(group.target),
            dict(group.owners),
            dict(group.subscription_metadata),
            known,
            None if known else self.classic.get(group.group_id),
        )

    def _restore(self, group: ConsumerGroup, snapshot: _Snapshot) -> None:
        """Undo the changes made since ``snapshot`` (their record could not be stored)."""
        before = set(group.members)
        group.group_epoch, group.assignment_epoch = snapshot.group_epoch, snapshot.assignment_epoch
        group.members, group.static_members = snapshot.members, snapshot.static_members
        group.target, group.owners = snapshot.target, snapshot.owners
        group.subscription_metadata = snapshot.subscription_metadata
        for member_id in before - set(group.members):
            self._cancel_member_timers(group.group_id, member_id)
        for member_id in set(group.members) - before:
            self._schedule_session(group, member_id)
        if not snapshot.was_known:
            if self.groups.get(group.group_id) is group:
                del self.groups[group.group_id]
            if snapshot.classic is not None and group.group_id not in self.classic:
                self.classic[group.group_id] = snapshot.classic
        log.info("%r: back as it was (storing its epoch failed)", group)

    def _write_epoch(
        self, group: ConsumerGroup, undo: _Snapshot, done: Done, extra: list[tuple[bytes, bytes | None]] | None = None
    ) -> None:
        """Append the group's (already applied) epoch; if that fails, restore ``undo`` when no later
        append of the group is in flight. ``done`` gets the error, mapped as Kafka maps it."""
        group_id = group.group_id
        token = self._last_write[group_id] = object()
        value = records.consumer_group_value(group.group_epoch)
        batch = [*(extra or []), (records.consumer_group_key(group_id), value)]

        def stored(error: ErrorCode) -> None:
            latest = self._last_write.get(group_id) is token
            if latest:
                del self._last_write[group_id]
            if error in (ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.RECORD_LIST_TOO_LARGE):
                error = ErrorCode.UNKNOWN_SERVER_ERROR
            if error is not ErrorCode.NONE and latest and not group.dead:
                self._restore(group, undo)
            done(error)

        self.writer.append(group_id, batch, stored)

    # -- leaving and fencing -----------------------------------------------------------------------
    def _leave(self, hb: Heartbeat, callback: HeartbeatCallback) -> None:
        group = self.groups.get(hb.group_id)
        if group is None:
            raise HeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, f"Consumer group {hb.group_id} not found.")
        if hb.instance_id is None:
            member = group.members.get(hb.member_id)
            if member is None:
                raise HeartbeatError(
                    ErrorCode.UNKNOWN_MEMBER_ID, f"Member {hb.member_id} is not a member of group {hb.group_id}."
                )
        else:
            member = group.static_member(hb.instance_id)
            if member is None:
                raise HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {hb.instance_id} is unknown.")
            if member.member_id != hb.member_id:
                raise HeartbeatError(
                    ErrorCode.FENCED_INSTANCE_ID,
                    f"Static member {hb.member_id} with instance id {hb.instance_id} was fenced by member "
                    f"{member.member_id}.",
                )
        result = HeartbeatResult(ErrorCode.NONE, member_id=hb.member_id, member_epoch=hb.member_epoch)
        if hb.member_epoch == STATIC_LEAVE_EPOCH:
            # Away for a while: it keeps its assignment until it rejoins or its session expires.
            member.member_epoch = STATIC_LEAVE_EPOCH
            self._cancel(self._revocations, (group.group_id, member.member_id))
            log.info("%r: static member %s leaves temporarily", group, hb.instance_id)
            return callback(result)

        def removed(error: ErrorCode) -> None:
            callback(result if error is ErrorCode.NONE else _failed(error))

        self.remove_member(group, member.member_id, "left the group", removed)

    def remove_member(self, group: ConsumerGroup, member_id: str, reason: str, done: Done) -> None:
        """Fence a member: its partitions are free and the group epoch moves (new target on the next
        heartbeat). Applied at once; undone if its record cannot be stored."""
        undo = self._snapshot(group)
        remaining = [m for m in group.members.values() if m.member_id != member_id]
        group.remove(member_id)
        self._cancel_member_timers(group.group_id, member_id)
        group.group_epoch += 1
        group.subscription_metadata = self._subscription_metadata(group, remaining)
        log.info("%r: member %s removed (%s)", group, member_id, reason)
        self._write_epoch(group, undo, done)

    def _expire(self, group: ConsumerGroup, member_id: str, reason: str) -> None:
        if self.groups.get(group.group_id) is not group or member_id not in group.members:
            return

        def removed(error: ErrorCode) -> None:
            if error is not ErrorCode.NONE:  # put back with a new session: it is tried again then
                log.warning("%r: fencing member %s failed (%s)", group, member_id, error.name)

        self.remove_member(group, member_id, reason, removed)

    # -- timers ------------------------------------------------------------------------------------
    def _schedule_session(self, group: ConsumerGroup, member_id: str) -> None:
        key = (group.group_id, member_id)
        self._cancel(self._sessions, key)

        def expired() -> None:
            self._sessions.pop(key, None)
            self._expire(group, member_id, "session timeout")

        self._sessions[key] = self.scheduler.call_later(self.config.consumer_session_timeout_ms, expired)

    def _schedule_revocation(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        key = (group.group_id, member.member_id)
        if member.state is not MemberState.UNREVOKED_PARTITIONS:
            self._cancel(self._revocations, key)
            return
        if key in self._revocations:
            return

        def expired() -> None:
            self._revocations.pop(key, None)
            current = group.members.get(member.member_id)
            if current is not None and current.state is MemberState.UNREVOKED_PARTITIONS:
                self._expire(group, member.member_id, "partitions not revoked within the rebalance timeout")

        self._revocations[key] = self.scheduler.call_later(max(member.rebalance_timeout_ms, 0), expired)

    def _cancel(self, timers: dict[tuple[str, str], Timer], key: tuple[str, str]) -> None:
        timer = timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def _cancel_member_timers(self, group_id: str, member_id: str) -> None:
        self._cancel(self._sessions, (group_id, member_id))
        self._cancel(self._revocations, (group_id, member_id))

    def cancel_group_timers(self, group: ConsumerGroup) -> None:
        for member_id in list(group.members):
            self._cancel_member_timers(group.group_id, member_id)

    # -- offsets rules (OffsetCommit, OffsetFetch) --------------------------------------------------
    @staticmethod
    def validate_commit(group: ConsumerGroup, member_id: str, member_epoch: int) -> ErrorCode:
        """Kafka's ConsumerGroup.validateOffsetCommit: epoch -1 only into an empty group (admin, simple)."""
        if member_epoch < 0 and not group.members:
            return ErrorCode.NONE
        member = group.members.get(member_id)
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if member_epoch != member.member_epoch:
            return ErrorCode.STALE_MEMBER_EPOCH
        return ErrorCode.NONE

    @staticmethod
    def validate_fetch(group: ConsumerGroup, member_id: str | None, member_epoch: int) -> ErrorCode:
        """Kafka's ConsumerGroup.validateOffsetFetch: no member id and epoch -1 is an admin."""
        if member_id is None and member_epoch < 0:
            return ErrorCode.NONE
        member = group.members.get(member_id or "")
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if member_epoch != member.member_epoch:
            return ErrorCode.STALE_MEMBER_EPOCH
        return ErrorCode.NONE

    # -- DeleteGroups and offset retention ---------------------------------------------------------
    def delete(self, group: ConsumerGroup, done: Done) -> None:
        """An empty group goes with its offsets (at once; back if the tombstones cannot be stored and
        nothing took its place); one with members: NON_EMPTY_GROUP. ``done`` once committed."""
        if group.members:
            return done(ErrorCode.NON_EMPTY_GROUP)
        group_id = group.group_id

        def forget() -> None:
            group.dead = True
            del self.groups[group_id]

        def restore() -> None:
            group.dead = False
            self.groups[group_id] = group

        def vacant() -> bool:
            return group_id not in self.groups and group_id not in self.classic and self.ownership.owns(group_id)

        delete_group(self.writer, group, records.consumer_group_key(group_id), forget, vacant, restore, done)

    def expire_offsets(self, now_ms: int, retention_ms: int) -> int:
        """Offsets of topics no member subscribes to expire by commit time (or their own expiry), as in
        Kafka's new coordinator; an empty group left with no offsets is deleted. Returns how many expired."""
        total = 0
        for group in list(self.groups.values()):
            expired = [
                tp
                for tp, om in group.offsets.items()
                if not group.is_subscribed_to(tp[0])
                and tp not in group.pending_offset_commits
                and (
                    now_ms >= om.expire_timestamp
                    if om.expire_timestamp >= 0
                    else now_ms - om.commit_timestamp >= retention_ms
                )
            ]
            if expired:
                for tp in expired:
                    del group.offsets[tp]
                self.writer.append(
                    group.group_id, offset_tombstones(group.group_id, expired), log_failure(group, "expiry")
                )
                total += len(expired)
                log.info("%r: %d offset(s) expired", group, len(expired))
            if not group.members and not group.offsets and not group.pending_offset_commits:
                self.delete(group, log_failure(group, "removal"))
        return total

    # -- loading -----------------------------------------------------------------------------------
    def load(self, epochs: dict[str, int], offsets: dict[str, dict[tuple[str, int], OffsetAndMetadata]]) -> None:
        """Groups from their stored epochs: empty (members rejoin), at an assignment epoch equal to it."""
        for group_id, epoch in epochs.items():
            group = ConsumerGroup(group_id)
            group.group_epoch = group.assignment_epoch = epoch
            group.offsets = offsets.get(group_id, {})
            self.groups[group_id] = group

    def unload_partition(self, partition: int) -> int:
        """Drop the groups of ``partition`` (another broker coordinates them now); returns how many."""
        dropped = [g for g in self.groups.values() if self.ownership.in_partition(g.group_id, partition)]
        for group in dropped:
            self.cancel_group_timers(group)
            group.dead = True
            del self.groups[group.group_id]
            self._last_write.pop(group.group_id, None)
        return len(dropped)


def _failed(error: ErrorCode) -> HeartbeatResult:
    return HeartbeatResult(error, STATUS_MESSAGES.get(error, f"Storing the group epoch failed: {error.name}."))

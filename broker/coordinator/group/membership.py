"""The classic rebalance protocol: JoinGroup, SyncGroup, Heartbeat and LeaveGroup (Kafka's GroupCoordinator).

How a rebalance runs:

1. A join (or a leave, or a member's death) moves the group to PreparingRebalance. A new (Empty)
   group first waits ``group.initial.rebalance.delay.ms``, extended while members keep arriving, up
   to the rebalance timeout; otherwise the rebalance completes as soon as every member has rejoined,
   or when the largest rebalance timeout of the members expires, dropping those that did not rejoin.
2. Completing the join starts the next generation: the protocol is chosen, every waiting JoinGroup is
   answered (the leader gets everyone's metadata) and the group is CompletingRebalance.
3. The leader's SyncGroup carries the assignment: it is appended to ``__consumer_offsets``; once the
   append completes every waiting SyncGroup is answered and the group is Stable (a failed append:
   every waiting member gets the error and the group rebalances). While the append is in flight the
   group stays CompletingRebalance with its pending sync (``assignment_in_flight``); the completion
   applies only to the generation that issued it. Members that do not SyncGroup within the
   rebalance timeout are removed, and the group rebalances again.
4. Each member must heartbeat within its session timeout, or it is removed and the group rebalances.

Answers that must wait (JoinGroup, SyncGroup) are callbacks, called exactly once, possibly before
the call returns. Every method runs to completion without awaiting: the event loop owns the state.
Writes are Kafka's ``appendRecords`` shape: the change is prepared, the append issued
(``RecordWriter.append``), and its completion (which may run at once or later) applies or undoes it
and answers. Errors are Kafka's codes, chosen where Kafka chooses them (``ownership`` answers
NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS for groups of partitions this broker does not own or
is loading); nothing done to one group touches another.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from broker.coordinator.group.config import GroupConfig
from broker.coordinator.group.group import (
    GroupMetadata,
    JoinCallback,
    JoinResult,
    MemberMetadata,
    SyncCallback,
    SyncResult,
)
from broker.coordinator.group.ownership import Ownership
from broker.coordinator.group.state import CAN_REBALANCE, GroupState
from broker.coordinator.group.timers import Scheduler, Timer
from broker.coordinator.group.writes import RecordWriter, group_record, group_write_error
from protocol.errors import ErrorCode

log = logging.getLogger(__name__)

NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000  # KIP-394: a member of a new group's first rebalance
Protocols = list[tuple[str, bytes]]
_K = TypeVar("_K")


class Membership:
    def __init__(
        self, config: GroupConfig, scheduler: Scheduler, writer: RecordWriter, ownership: Ownership | None = None
    ) -> None:
        self.config = config
        self.scheduler = scheduler
        self.writer = writer
        self.ownership = ownership or Ownership()
        self.groups: dict[str, GroupMetadata] = {}
        self._heartbeats: dict[tuple[str, str], Timer] = {}
        self._pending: dict[tuple[str, str], Timer] = {}
        self._join_timers: dict[str, Timer] = {}
        self._sync_timers: dict[str, Timer] = {}
        self._initial_delay_groups: set[str] = set()  # groups whose first join waits out the initial delay

    def now(self) -> int:
        return self.scheduler.now_ms()

    # -- JoinGroup ---------------------------------------------------------------------------------
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
        def fail(error: ErrorCode, member: str = member_id) -> None:
            callback(JoinResult(error, member_id=member))

        if not group_id:
            return fail(ErrorCode.INVALID_GROUP_ID)
        status = self.ownership.status(group_id)
        if status is not ErrorCode.NONE:
            return fail(status)
        if not self.config.min_session_timeout_ms <= session_timeout_ms <= self.config.max_session_timeout_ms:
            return fail(ErrorCode.INVALID_SESSION_TIMEOUT)
        if rebalance_timeout_ms < 0:
            rebalance_timeout_ms = session_timeout_ms  # JoinGroup v0 has none: Kafka uses the session timeout
        new_member = member_id == ""
        group = self.groups.get(group_id)
        if group is None:
            if not new_member:
                return fail(ErrorCode.UNKNOWN_MEMBER_ID)
            group = GroupMetadata(group_id, GroupState.EMPTY, self.now())
            self.groups[group_id] = group
        if not self._accept_joining_member(group, member_id):
            if group.has(member_id):
                self._remove_member(group, group.members[member_id], "the group is full")
            self._forget_if_unused(group)
            return fail(ErrorCode.GROUP_MAX_SIZE_REACHED, "")
        if group.is_(GroupState.DEAD):
            return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        if not group.supports_protocols(protocol_type, [name for name, _ in protocols]):
            self._forget_if_unused(group)
            return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        args = (client_id, client_host, rebalance_timeout_ms, session_timeout_ms, protocol_type, protocols)
        if new_member:
            new_id = group.generate_member_id(client_id, instance_id)
            if instance_id is not None:
                old_id = group.static_member_id(instance_id)
                if old_id is not None:
                    return self._replace_static_member(
                        group, old_id, new_id, instance_id, supports_skip_assignment, protocols,
                        rebalance_timeout_ms, session_timeout_ms, callback,
                    )  # fmt: skip
                return self._add_member_and_rebalance(group, new_id, instance_id, *args, callback)
            if require_known_member_id:  # KIP-394: hand out the id, expect a second join with it
                group.pending_members.add(new_id)
                self._schedule_pending_expiry(group, new_id, session_timeout_ms)
                return fail(ErrorCode.MEMBER_ID_REQUIRED, new_id)
            return self._add_member_and_rebalance(group, new_id, None, *args, callback)
        if member_id in group.pending_members:
            self._cancel(self._pending, (group_id, member_id))
            return self._add_member_and_rebalance(group, member_id, instance_id, *args, callback)
        error = self._validate_member(group, member_id, instance_id)
        if error is not ErrorCode.NONE:
            return fail(error)
        member = group.members[member_id]
        if group.is_(GroupState.PREPARING_REBALANCE):
            return self._update_member_and_rebalance(group, member, protocols, rebalance_timeout_ms,
                                                     session_timeout_ms, callback)  # fmt: skip
        if group.is_(GroupState.COMPLETING_REBALANCE) and member.matches(protocols):
            # A retried join of this generation: answer it again as before.
            return callback(self._current_generation(group, member_id, include_members=group.is_leader(member_id)))
        if group.is_(GroupState.STABLE) and not group.is_leader(member_id) and member.matches(protocols):
            return callback(self._current_generation(group, member_id, include_members=False))
        if group.state in (GroupState.COMPLETING_REBALANCE, GroupState.STABLE):
            return self._update_member_and_rebalance(group, member, protocols, rebalance_timeout_ms,
                                                     session_timeout_ms, callback)  # fmt: skip
        return fail(ErrorCode.UNKNOWN_MEMBER_ID)

    def _accept_joining_member(self, group: GroupMetadata, member_id: str) -> bool:
        limit = self.config.max_size
        if group.state in (GroupState.EMPTY, GroupState.DEAD):
            return True
        member = group.members.get(member_id)
        if group.is_(GroupState.PREPARING_REBALANCE):
            return (member is not None and member.awaiting_join is not None) or group.awaiting_join_count < limit
        return member is not None or len(group.members) < limit

    def _current_generation(self, group: GroupMetadata, member_id: str, include_members: bool) -> JoinResult:
        return JoinResult(
            ErrorCode.NONE,
            member_id=member_id,
            generation_id=group.generation_id,
            protocol_type=group.protocol_type,
            protocol_name=group.protocol_name,
            leader_id=group.leader_id or "",
            members=group.current_member_metadata() if include_members else [],
        )

    def _add_member_and_rebalance(
        self,
        group: GroupMetadata,
        member_id: str,
        instance_id: str | None,
        client_id: str,
        client_host: str,
        rebalance_timeout_ms: int,
        session_timeout_ms: int,
        protocol_type: str,
        protocols: Protocols,
        callback: JoinCallback,
    ) -> None:
        member = MemberMetadata(
            member_id, instance_id, client_id, client_host, rebalance_timeout_ms, session_timeout_ms,
            protocol_type, protocols, awaiting_join=callback,
        )  # fmt: skip
        if group.is_(GroupState.PREPARING_REBALANCE) and group.generation_id == 0:
            member.is_new = True
            group.new_member_added = True  # lets the initial rebalance delay extend itself
        group.add(member)
        self._schedule_heartbeat(group, member)
        log.info("%r: member %s joins (client %s at %s)", group, member_id, client_id, client_host)
        self._maybe_prepare_rebalance(group, f"member {member_id} joined")
        self._try_complete_join(group)

    def _update_member_and_rebalance(
        self,
        group: GroupMetadata,
        member: MemberMetadata,
        protocols: Protocols,
        rebalance_timeout_ms: int,
        session_timeout_ms: int,
        callback: JoinCallback,
    ) -> None:
        group.update_protocols(member, protocols)
        member.rebalance_timeout_ms = rebalance_timeout_ms
        member.session_timeout_ms = session_timeout_ms
        if member.awaiting_join is not None and member.awaiting_join is not callback:
            member.awaiting_join(JoinResult(ErrorCode.REBALANCE_IN_PROGRESS, member_id=member.member_id))
        member.awaiting_join = callback
        self._maybe_prepare_rebalance(group, f"member {member.member_id} rejoined")
        self._try_complete_join(group)

    def _replace_static_member(
        self,
        group: GroupMetadata,
        old_id: str,
        new_id: str,
        instance_id: str,
        supports_skip_assignment: bool,
        protocols: Protocols,
        rebalance_timeout_ms: int,
        session_timeout_ms: int,
        callback: JoinCallback,
    ) -> None:
        """KIP-345: a static member rejoins with a new id; the old id is fenced at once."""
        old = group.members[old_id]
        if old.awaiting_join is not None:
            old.awaiting_join(JoinResult(ErrorCode.FENCED_INSTANCE_ID, member_id=old_id))
            old.awaiting_join = None
        if old.awaiting_sync is not None:
            old.awaiting_sync(SyncResult(ErrorCode.FENCED_INSTANCE_ID))
            old.awaiting_sync = None
        self._cancel(self._heartbeats, (group.group_id, old_id))
        old_protocols = old.protocols
        old_timeouts = (old.rebalance_timeout_ms, old.session_timeout_ms)
        leader = group.leader_id
        member = group.replace_static_member(instance_id, old_id, new_id)
        group.update_protocols(member, protocols)
        member.rebalance_timeout_ms, member.session_timeout_ms = rebalance_timeout_ms, session_timeout_ms
        self._schedule_heartbeat(group, member)
        log.info("%r: static member %s rejoins as %s (was %s)", group, instance_id, new_id, old_id)
        if group.is_(GroupState.STABLE):
            if group.select_protocol() != group.protocol_name:
                member.awaiting_join = callback
                return self._maybe_prepare_rebalance(group, f"static member {instance_id} changed protocols")

            def stored(appended: ErrorCode) -> None:
                error = group_write_error(appended)
                if error is not ErrorCode.NONE:
                    # Put the old member back, as if this join never happened (unless it changed since).
                    if group.members.get(new_id) is member and self.groups.get(group.group_id) is group:
                        group.replace_static_member(instance_id, new_id, old_id)
                        group.update_protocols(member, old_protocols)
                        member.rebalance_timeout_ms, member.session_timeout_ms = old_timeouts
                        self._cancel(self._heartbeats, (group.group_id, new_id))
                        self._schedule_heartbeat(group, member)
                    return callback(JoinResult(error, member_id=""))
                is_leader = supports_skip_assignment and group.is_leader(new_id)
                result = self._current_generation(group, new_id, include_members=is_leader)
                result.leader_id = leader or ""
                result.skip_assignment = is_leader
                callback(result)

            return self.writer.append(group.group_id, [group_record(group, self._assignments(group))], stored)
        member.awaiting_join = callback
        if group.is_(GroupState.COMPLETING_REBALANCE):
            # The leader may be assigning to the old id: only a new rebalance gives the new id its share.
            self._prepare_rebalance(group, f"static member {instance_id} rejoined during the sync")
        self._try_complete_join(group)

    def _validate_member(self, group: GroupMetadata, member_id: str, instance_id: str | None) -> ErrorCode:
        if instance_id is not None and group.is_static_member_fenced(member_id, instance_id):
            return ErrorCode.FENCED_INSTANCE_ID
        member = group.members.get(member_id)
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if instance_id is not None and member.group_instance_id != instance_id:
            return ErrorCode.FENCED_INSTANCE_ID
        return ErrorCode.NONE

    # -- rebalancing -------------------------------------------------------------------------------
    def _maybe_prepare_rebalance(self, group: GroupMetadata, reason: str) -> None:
        if group.state in CAN_REBALANCE:
            self._prepare_rebalance(group, reason)

    def _prepare_rebalance(self, group: GroupMetadata, reason: str) -> None:
        if group.is_(GroupState.COMPLETING_REBALANCE):
            self._reset_assignments(group, ErrorCode.REBALANCE_IN_PROGRESS)
        self._cancel(self._sync_timers, group.group_id)
        group.pending_sync = set()
        group.assignment_in_flight = False
        was_empty = group.is_(GroupState.EMPTY)
        group.transition_to(GroupState.PREPARING_REBALANCE, self.now())
        log.info("%r: preparing to rebalance (%s)", group, reason)
        self._cancel(self._join_timers, group.group_id)
        if was_empty:
            delay = self.config.initial_rebalance_delay_ms
            remaining = max(group.max_rebalance_timeout_ms() - delay, 0)
            self._schedule_initial_join(group, delay, remaining)
        else:
            self._join_timers[group.group_id] = self.scheduler.call_later(
                group.max_rebalance_timeout_ms(), lambda: self._complete_join(group)
            )

    def _schedule_initial_join(self, group: GroupMetadata, delay_ms: int, remaining_ms: int) -> None:
        def expired() -> None:
            if group.new_member_added and remaining_ms > 0:
                group.new_member_added = False
                step = min(self.config.initial_rebalance_delay_ms, remaining_ms)
                self._schedule_initial_join(group, step, remaining_ms - step)
            else:
                self._complete_join(group)

        group.new_member_added = False
        self._join_timers[group.group_id] = self.scheduler.call_later(delay_ms, expired)
        self._initial_delay_groups.add(group.group_id)

    def _try_complete_join(self, group: GroupMetadata) -> None:
        if (
            group.is_(GroupState.PREPARING_REBALANCE)
            and group.group_id not in self._initial_delay_groups
            and group.has_all_members_joined()
        ):
            self._complete_join(group)

    def _complete_join(self, group: GroupMetadata) -> None:
        if not group.is_(GroupState.PREPARING_REBALANCE) or self.groups.get(group.group_id) is not group:
            return
        self._cancel(self._join_timers, group.group_id)
        self._initial_delay_groups.discard(group.group_id)
        for member in group.not_yet_rejoined():
            log.info("%r: member %s did not rejoin in time; removing it", group, member.member_id)
            self._cancel(self._heartbeats, (group.group_id, member.member_id))
            group.remove(member.member_id)
        now = self.now()
        group.init_next_generation(now)
        if group.is_(GroupState.EMPTY):
            log.info("%r: is now empty", group)

            def stored(error: ErrorCode) -> None:
                if error is not ErrorCode.NONE:
                    log.warning("%r: storing the empty group failed with %s", group, error.name)

            self.writer.append(group.group_id, [group_record(group, {})], stored)
            return
        log.info("%r: generation %d formed, protocol %s, leader %s", group, group.generation_id,
                 group.protocol_name, group.leader_id)  # fmt: skip
        for member in list(group.members.values()):
            include = group.is_leader(member.member_id)
            callback, member.awaiting_join = member.awaiting_join, None
            member.is_new = False
            if callback is not None:
                callback(self._current_generation(group, member.member_id, include_members=include))
            self._schedule_heartbeat(group, member)
        group.pending_sync = set(group.members)
        generation = group.generation_id
        self._sync_timers[group.group_id] = self.scheduler.call_later(
            group.sync_deadline_ms(), lambda: self._expire_pending_sync(group, generation)
        )

    def _expire_pending_sync(self, group: GroupMetadata, generation: int) -> None:
        self._sync_timers.pop(group.group_id, None)
        if group.generation_id != generation or not group.pending_sync:
            return
        if group.state not in (GroupState.COMPLETING_REBALANCE, GroupState.STABLE):
            return
        for member_id in sorted(group.pending_sync):
            log.info("%r: member %s did not sync in time; removing it", group, member_id)
            self._cancel(self._heartbeats, (group.group_id, member_id))
            group.remove(member_id)
        self._prepare_rebalance(group, "members did not sync in time")

    def _reset_assignments(self, group: GroupMetadata, error: ErrorCode) -> None:
        for member in group.members.values():
            member.assignment = b""
            if member.awaiting_sync is not None:
                callback, member.awaiting_sync = member.awaiting_sync, None
                callback(SyncResult(error))

    @staticmethod
    def _assignments(group: GroupMetadata) -> dict[str, bytes]:
        return {m.member_id: m.assignment for m in group.members.values()}

    # -- SyncGroup ---------------------------------------------------------------------------------
    def sync_group(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
        assignments: dict[str, bytes],
        callback: SyncCallback,
    ) -> None:
        group = self.groups.get(group_id)
        if not group_id:
            return callback(SyncResult(ErrorCode.INVALID_GROUP_ID))
        status = self.ownership.status(group_id)
        if status is ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
            # The rebalance's state is lost with the load: the member rejoins (Kafka's answer; older
            # clients do not expect COORDINATOR_LOAD_IN_PROGRESS from SyncGroup).
            return callback(SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
        if status is not ErrorCode.NONE:
            return callback(SyncResult(status))
        if group is None:
            return callback(SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))
        if group.is_(GroupState.DEAD):
            return callback(SyncResult(ErrorCode.COORDINATOR_NOT_AVAILABLE))
        error = self._validate_member(group, member_id, instance_id)
        if error is ErrorCode.NONE and generation_id != group.generation_id:
            error = ErrorCode.ILLEGAL_GENERATION
        if error is ErrorCode.NONE and (
            (protocol_type is not None and protocol_type != group.protocol_type)
            or (protocol_name is not None and protocol_name != group.protocol_name)
        ):
            error = ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        if error is not ErrorCode.NONE:
            return callback(SyncResult(error))
        if group.is_(GroupState.PREPARING_REBALANCE):
            return callback(SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
        member = group.members[member_id]
        group.pending_sync.discard(member_id)
        self._schedule_heartbeat(group, member)
        if group.is_(GroupState.STABLE):
            return callback(self._sync_result(group, member))
        member.awaiting_sync = callback
        if group.is_leader(member_id) and not group.assignment_in_flight:
            full = {m: assignments.get(m, b"") for m in group.members}
            generation = group.generation_id
            group.assignment_in_flight = True

            def stored(appended: ErrorCode) -> None:
                current = self.groups.get(group_id) is group and generation == group.generation_id
                if not current or not group.is_(GroupState.COMPLETING_REBALANCE):
                    return  # a new rebalance (or an unload) answered the waiting members already
                group.assignment_in_flight = False
                error = group_write_error(appended)
                if error is not ErrorCode.NONE:
                    log.warning("%r: storing the assignment failed with %s", group, error.name)
                    self._reset_assignments(group, error)
                    self._maybe_prepare_rebalance(group, "storing the assignment failed")
                    return
                for m in group.members.values():
                    m.assignment = full.get(m.member_id, b"")
                group.transition_to(GroupState.STABLE, self.now())
                for m in group.members.values():
                    if m.awaiting_sync is not None:
                        waiting, m.awaiting_sync = m.awaiting_sync, None
                        waiting(self._sync_result(group, m))
                log.info("%r: stabilized", group)

            self.writer.append(group.group_id, [group_record(group, full)], stored)

    @staticmethod
    def _sync_result(group: GroupMetadata, member: MemberMetadata) -> SyncResult:
        return SyncResult(ErrorCode.NONE, member.assignment, group.protocol_type, group.protocol_name)

    # -- Heartbeat ---------------------------------------------------------------------------------
    def heartbeat(self, group_id: str, member_id: str, instance_id: str | None, generation_id: int) -> ErrorCode:
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        status = self.ownership.status(group_id)
        if status is ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
            return ErrorCode.NONE  # the group is still loading: answer blindly, as Kafka does
        if status is not ErrorCode.NONE:
            return status
        group = self.groups.get(group_id)
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if group.is_(GroupState.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        error = self._validate_member(group, member_id, instance_id)
        if error is not ErrorCode.NONE:
            return error
        if generation_id != group.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        self._schedule_heartbeat(group, group.members[member_id])
        if group.is_(GroupState.PREPARING_REBALANCE):
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    def _schedule_heartbeat(self, group: GroupMetadata, member: MemberMetadata) -> None:
        key = (group.group_id, member.member_id)
        self._cancel(self._heartbeats, key)
        timeout = NEW_MEMBER_JOIN_TIMEOUT_MS if member.is_new else member.session_timeout_ms
        self._heartbeats[key] = self.scheduler.call_later(timeout, lambda: self._expire_heartbeat(group, member))

    def _expire_heartbeat(self, group: GroupMetadata, member: MemberMetadata) -> None:
        key = (group.group_id, member.member_id)
        self._heartbeats.pop(key, None)
        if group.members.get(member.member_id) is not member or self.groups.get(group.group_id) is not group:
            return
        if not member.is_new and (member.awaiting_join is not None or member.awaiting_sync is not None):
            self._schedule_heartbeat(group, member)  # the rebalance's own timeouts govern it now
            return
        log.info("%r: member %s missed its session timeout; removing it", group, member.member_id)
        self._remove_member(group, member, "session timeout")

    def _schedule_pending_expiry(self, group: GroupMetadata, member_id: str, timeout_ms: int) -> None:
        def expired() -> None:
            self._pending.pop((group.group_id, member_id), None)
            if member_id in group.pending_members:
                group.pending_members.discard(member_id)
                self._try_complete_join(group)
                self._forget_if_unused(group)

        self._pending[(group.group_id, member_id)] = self.scheduler.call_later(timeout_ms, expired)

    # -- LeaveGroup --------------------------------------------------------------------------------
    def leave_group(self, group_id: str, leaving: list[tuple[str, str | None]]) -> tuple[ErrorCode, list[ErrorCode]]:
        """The group-level error and one error per (member id, group instance id) leaving."""
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID, []
        status = self.ownership.status(group_id)
        if status is not ErrorCode.NONE:
            return status, []
        group = self.groups.get(group_id)
        if group is None:
            return ErrorCode.NONE, [ErrorCode.UNKNOWN_MEMBER_ID for _ in leaving]
        if group.is_(GroupState.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE, []
        errors = []
        for member_id, instance_id in leaving:
            if member_id == "" and instance_id is not None:  # an admin removing a static member
                current = group.static_member_id(instance_id)
                if current is None:
                    errors.append(ErrorCode.UNKNOWN_MEMBER_ID)
                    continue
                member_id = current
            elif member_id in group.pending_members:
                group.pending_members.discard(member_id)
                self._cancel(self._pending, (group_id, member_id))
                self._try_complete_join(group)
                errors.append(ErrorCode.NONE)
                continue
            else:
                error = self._validate_member(group, member_id, instance_id)
                if error is not ErrorCode.NONE:
                    errors.append(error)
                    continue
            self._remove_member(group, group.members[member_id], "left the group")
            errors.append(ErrorCode.NONE)
        return ErrorCode.NONE, errors

    def _remove_member(self, group: GroupMetadata, member: MemberMetadata, reason: str) -> None:
        log.info("%r: removing member %s (%s)", group, member.member_id, reason)
        if member.awaiting_join is not None:
            callback, member.awaiting_join = member.awaiting_join, None
            callback(JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id=member.member_id))
        self._cancel(self._heartbeats, (group.group_id, member.member_id))
        group.remove(member.member_id)
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._maybe_prepare_rebalance(group, f"member {member.member_id} left ({reason})")
        elif group.is_(GroupState.PREPARING_REBALANCE):
            self._try_complete_join(group)

    # -- helpers -----------------------------------------------------------------------------------
    def _forget_if_unused(self, group: GroupMetadata) -> None:
        """A group created by a join that failed at once leaves no trace."""
        if (
            group.is_(GroupState.EMPTY)
            and not group.members
            and not group.pending_members
            and not group.offsets
            and not group.pending_offset_commits
            and group.generation_id == 0
            and self.groups.get(group.group_id) is group
        ):
            del self.groups[group.group_id]

    def _cancel(self, timers: dict[_K, Timer], key: _K) -> None:
        timer = timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def cancel_group_timers(self, group: GroupMetadata) -> None:
        for member_id in list(group.members) + list(group.pending_members):
            self._cancel(self._heartbeats, (group.group_id, member_id))
            self._cancel(self._pending, (group.group_id, member_id))
        self._cancel(self._join_timers, group.group_id)
        self._cancel(self._sync_timers, group.group_id)
        self._initial_delay_groups.discard(group.group_id)

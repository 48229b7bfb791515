"""A member of a consumer group and its reconciliation (Kafka's ConsumerGroupMember and CurrentAssignmentBuilder).

A member moves towards its target assignment in steps the client can follow safely:

- ``STABLE``: it owns its whole target at the current target epoch.
- ``UNREVOKED_PARTITIONS``: it must first give up partitions no longer in its target; it keeps its
  member epoch and is told only the partitions it may keep. When a heartbeat shows it no longer owns
  any of them, it moves on (and must do so within its rebalance timeout, or it is fenced).
- ``UNRELEASED_PARTITIONS``: it is at the target epoch, but some of its target partitions are still
  owned (assigned or being revoked) by other members; it gets them once they are released.

Invariant: a partition is in at most one member's ``assigned`` or ``pending_revocation`` at a time,
so two members never consume the same partition. Assignments are keyed by topic name.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from broker.coordinator.group.consumer.assignors import Assignment

JOIN_EPOCH = 0
LEAVE_EPOCH = -1
STATIC_LEAVE_EPOCH = -2


class MemberState(enum.Enum):
    STABLE = "stable"
    UNREVOKED_PARTITIONS = "unrevoked_partitions"
    UNRELEASED_PARTITIONS = "unreleased_partitions"


@dataclass(slots=True, eq=False)
class ConsumerMember:
    member_id: str
    instance_id: str | None = None
    rack_id: str | None = None
    client_id: str = ""
    client_host: str = ""
    rebalance_timeout_ms: int = -1
    server_assignor: str | None = None
    subscribed_topic_names: list[str] = field(default_factory=list)
    subscribed_topic_regex: str | None = None
    member_epoch: int = 0
    previous_member_epoch: int = -1
    state: MemberState = MemberState.STABLE
    assigned: Assignment = field(default_factory=dict)
    pending_revocation: Assignment = field(default_factory=dict)

    def owned_partitions(self) -> set[tuple[str, int]]:
        """What the coordinator counts as this member's: assigned and still being revoked."""
        return {(t, p) for a in (self.assigned, self.pending_revocation) for t, ps in a.items() for p in ps}


# (topic, partition) -> the member id that owns it, or None.
OwnerOf = Callable[[str, int], str | None]


def _flat(assignment: Assignment) -> set[tuple[str, int]]:
    return {(t, p) for t, ps in assignment.items() for p in ps}


def _nested(pairs: set[tuple[str, int]]) -> Assignment:
    out: Assignment = {}
    for t, p in pairs:
        out.setdefault(t, set()).add(p)
    return out


def reconcile(
    member: ConsumerMember, target_epoch: int, target: Assignment, owned: Assignment | None, owner_of: OwnerOf
) -> None:
    """Move ``member`` one step towards ``target`` (in place). ``owned``: what the client reported, or None."""
    if member.state is MemberState.STABLE:
        if member.member_epoch != target_epoch:
            _next_assignment(member, target_epoch, target, owned, owner_of)
    elif member.state is MemberState.UNREVOKED_PARTITIONS:
        if owned is not None and not (_flat(owned) & _flat(member.pending_revocation)):
            _next_assignment(member, target_epoch, target, owned, owner_of)
    else:
        _next_assignment(member, target_epoch, target, owned, owner_of)


def _next_assignment(
    member: ConsumerMember, target_epoch: int, target: Assignment, owned: Assignment | None, owner_of: OwnerOf
) -> None:
    current = _flat(member.assigned)
    wanted = _flat(target)
    keep = current & wanted
    revoke = current - wanted
    to_assign = wanted - current
    free = {tp for tp in to_assign if owner_of(*tp) in (None, member.member_id)}
    unreleased = bool(to_assign - free)
    # A member that reported no partitions (None) is assumed to still own what it must revoke.
    still_owned = owned is None or bool(_flat(owned) & revoke)
    if revoke and still_owned:
        member.state = MemberState.UNREVOKED_PARTITIONS
        member.assigned = _nested(keep)
        member.pending_revocation = _nested(revoke)
        return
    member.previous_member_epoch, member.member_epoch = member.member_epoch, target_epoch
    member.state = MemberState.UNRELEASED_PARTITIONS if unreleased else MemberState.STABLE
    member.assigned = _nested(keep | free)
    member.pending_revocation = {}


def is_subset(owned: Assignment | None, assigned: Assignment) -> bool:
    return owned is not None and _flat(owned) <= _flat(assigned)

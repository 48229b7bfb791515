"""A KIP-848 consumer group: members, the group epoch, the target assignment and who owns what.

States (derived, as in Kafka's ConsumerGroup): ``Empty`` (no members), ``Assigning`` (the group epoch
is ahead of the target assignment's), ``Reconciling`` (some member is not yet at the target epoch or
not yet stable), ``Stable``; ``Dead`` once deleted. The group epoch only grows; it moves when a member
joins, leaves or changes its subscription, or a subscribed topic's partition count changes.
"""

from __future__ import annotations

import enum
import re

from broker.coordinator.group.consumer.assignors import Assignment
from broker.coordinator.group.consumer.member import ConsumerMember, MemberState
from broker.coordinator.group.group import OffsetAndMetadata

TopicPartition = tuple[str, int]


class ConsumerGroupState(enum.Enum):
    EMPTY = "Empty"
    ASSIGNING = "Assigning"
    RECONCILING = "Reconciling"
    STABLE = "Stable"
    DEAD = "Dead"

    def __str__(self) -> str:
        return self.value


class ConsumerGroup:
    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self.group_epoch = 0
        self.assignment_epoch = 0
        self.members: dict[str, ConsumerMember] = {}
        self.static_members: dict[str, str] = {}  # instance id -> member id
        self.target: dict[str, Assignment] = {}  # member id -> target assignment at assignment_epoch
        self.owners: dict[TopicPartition, str] = {}  # partition -> the member holding it (assigned or revoking)
        self.subscription_metadata: dict[str, int] = {}  # subscribed topic -> partitions, at group_epoch
        self.offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        self.pending_offset_commits: dict[TopicPartition, int] = {}  # commits whose appends are in flight
        self.dead = False

    def __repr__(self) -> str:
        return f"consumer group {self.group_id!r} ({self.state}, epoch {self.group_epoch}, {len(self.members)} members)"

    @property
    def state(self) -> ConsumerGroupState:
        if self.dead:
            return ConsumerGroupState.DEAD
        if not self.members:
            return ConsumerGroupState.EMPTY
        if self.group_epoch > self.assignment_epoch:
            return ConsumerGroupState.ASSIGNING
        for member in self.members.values():
            if member.member_epoch != self.assignment_epoch or member.state is not MemberState.STABLE:
                return ConsumerGroupState.RECONCILING
        return ConsumerGroupState.STABLE

    # -- members -----------------------------------------------------------------------------------
    def static_member(self, instance_id: str | None) -> ConsumerMember | None:
        member_id = None if instance_id is None else self.static_members.get(instance_id)
        return None if member_id is None else self.members.get(member_id)

    def put(self, member: ConsumerMember, before: set[TopicPartition]) -> None:
        """Add or update ``member``; ``before``: the partitions it held before this change."""
        self.members[member.member_id] = member
        if member.instance_id is not None:
            self.static_members[member.instance_id] = member.member_id
        for tp in before:
            if self.owners.get(tp) == member.member_id:
                del self.owners[tp]
        for tp in member.owned_partitions():
            self.owners[tp] = member.member_id

    def remove(self, member_id: str) -> ConsumerMember | None:
        member = self.members.pop(member_id, None)
        if member is None:
            return None
        if member.instance_id is not None and self.static_members.get(member.instance_id) == member_id:
            del self.static_members[member.instance_id]
        for tp in member.owned_partitions():
            if self.owners.get(tp) == member_id:
                del self.owners[tp]
        self.target.pop(member_id, None)
        return member

    def owner_of(self, topic: str, partition: int) -> str | None:
        return self.owners.get((topic, partition))

    # -- subscriptions -----------------------------------------------------------------------------
    def member_topics(self, member: ConsumerMember, existing: list[str]) -> set[str]:
        """The topics ``member`` subscribes to: its names plus the existing topics its regex matches."""
        topics = set(member.subscribed_topic_names)
        if member.subscribed_topic_regex:
            pattern = re.compile(member.subscribed_topic_regex)
            topics.update(t for t in existing if pattern.fullmatch(t))
        return topics

    def subscribed_topics(self, existing: list[str]) -> set[str]:
        topics: set[str] = set()
        for member in self.members.values():
            topics |= self.member_topics(member, existing)
        return topics

    def is_subscribed_to(self, topic: str) -> bool:
        return topic in self.subscription_metadata

    def preferred_assignor(self, default: str) -> str:
        """The server assignor most members name (ties: the first in name order); else ``default``."""
        votes: dict[str, int] = {}
        for member in self.members.values():
            if member.server_assignor is not None:
                votes[member.server_assignor] = votes.get(member.server_assignor, 0) + 1
        if not votes:
            return default
        return min(votes, key=lambda name: (-votes[name], name))

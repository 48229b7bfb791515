"""A classic group's membership and committed offsets (Kafka's GroupMetadata and MemberMetadata).

Plain data plus the rules that only look at one group: protocol selection, the leader, static
members, who has (re)joined. The coordinator (``coordinator.py``) drives the state machine; this
module never schedules, stores or answers anything. Not thread-safe: the event loop owns it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from broker.coordinator.group.state import GroupState, check_transition
from protocol.errors import ErrorCode
from protocol.exceptions import ProtocolError
from protocol.messages._consumer_protocol import decode_subscription
from protocol.schema import MAX_STRING

CONSUMER_PROTOCOL_TYPE = "consumer"

_MAX_PREFIX = MAX_STRING - 37  # room for "-" and a UUID


@dataclass(slots=True)
class JoinResult:
    error: ErrorCode
    member_id: str = ""
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str = ""
    members: list[tuple[str, str | None, bytes]] = field(default_factory=list)  # id, instance id, metadata
    skip_assignment: bool = False


@dataclass(slots=True)
class SyncResult:
    error: ErrorCode
    assignment: bytes = b""
    protocol_type: str | None = None
    protocol_name: str | None = None


JoinCallback = Callable[[JoinResult], None]
SyncCallback = Callable[[SyncResult], None]


@dataclass(slots=True)
class OffsetAndMetadata:
    offset: int
    leader_epoch: int  # -1: unknown
    metadata: str
    commit_timestamp: int
    expire_timestamp: int = -1  # -1: the broker's retention applies (v2-4 commits may set their own)


@dataclass(slots=True, eq=False)
class MemberMetadata:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]  # (name, metadata) in the member's order of preference
    assignment: bytes = b""
    awaiting_join: JoinCallback | None = None
    awaiting_sync: SyncCallback | None = None
    is_new: bool = False  # joined a new group's first rebalance (KIP-394's longer new-member timeout)
    heartbeat_satisfied: bool = False

    @property
    def protocol_names(self) -> list[str]:
        """In preference order, each once: a name sent twice must not count as a second member."""
        return list(dict.fromkeys(name for name, _ in self.protocols))

    def metadata(self, protocol: str) -> bytes:
        for name, data in self.protocols:
            if name == protocol:
                return data
        raise KeyError(f"member {self.member_id} does not support protocol {protocol}")

    def matches(self, protocols: list[tuple[str, bytes]]) -> bool:
        return self.protocols == protocols

    def vote(self, candidates: set[str]) -> str:
        """The member's most preferred protocol among ``candidates``."""
        for name in self.protocol_names:
            if name in candidates:
                return name
        raise ValueError(f"member {self.member_id} supports none of {sorted(candidates)}")


class GroupMetadata:
    def __init__(self, group_id: str, state: GroupState, now_ms: int) -> None:
        self.group_id = group_id
        self.state = state
        self.state_timestamp = now_ms
        self.generation_id = 0
        self.protocol_type: str | None = None
        self.protocol_name: str | None = None
        self.leader_id: str | None = None
        self.members: dict[str, MemberMetadata] = {}
        self.static_members: dict[str, str] = {}  # group instance id -> member id
        self.pending_members: set[str] = set()  # KIP-394: ids handed out, not yet joined with
        self.pending_sync: set[str] = set()  # members expected to SyncGroup this generation
        self.new_member_added = False
        self.subscribed_topics: set[str] | None = None  # None: unknown (not the consumer protocol)
        self.offsets: dict[tuple[str, int], OffsetAndMetadata] = {}
        # Appends in flight: offset commits per partition (Kafka's pendingOffsetCommits, applied when
        # they complete) and the leader's assignment of the current generation (the pending sync).
        self.pending_offset_commits: dict[tuple[str, int], int] = {}
        self.assignment_in_flight = False
        self._supported: dict[str, int] = {}  # protocol name -> how many members support it

    def __repr__(self) -> str:
        return f"group {self.group_id!r} ({self.state}, generation {self.generation_id}, {len(self.members)} members)"

    # -- state -------------------------------------------------------------------------------------
    def is_(self, state: GroupState) -> bool:
        return self.state is state

    def transition_to(self, state: GroupState, now_ms: int) -> None:
        check_transition(self.group_id, self.state, state)
        self.state = state
        self.state_timestamp = now_ms

    def restore_state(self, state: GroupState, timestamp_ms: int) -> None:
        """Undo a change whose records could not be stored (not a transition: no rule applies)."""
        self.state = state
        self.state_timestamp = timestamp_ms

    # -- members -----------------------------------------------------------------------------------
    def has(self, member_id: str) -> bool:
        return member_id in self.members

    def is_leader(self, member_id: str) -> bool:
        return self.leader_id == member_id

    def add(self, member: MemberMetadata) -> None:
        if not self.members:
            self.protocol_type = member.protocol_type
        if self.leader_id is None:
            self.leader_id = member.member_id
        self.members[member.member_id] = member
        if member.group_instance_id is not None:
            self.static_members[member.group_instance_id] = member.member_id
        for name in member.protocol_names:
            self._supported[name] = self._supported.get(name, 0) + 1
        self.pending_members.discard(member.member_id)

    def remove(self, member_id: str) -> MemberMetadata | None:
        member = self.members.pop(member_id, None)
        if member is None:
            return None
        for name in member.protocol_names:
            self._supported[name] -= 1
        if member.group_instance_id is not None and self.static_members.get(member.group_instance_id) == member_id:
            del self.static_members[member.group_instance_id]
        self.pending_sync.discard(member_id)
        if self.leader_id == member_id:
            joined = [m for m in self.members.values() if m.awaiting_join is not None]
            chosen = joined[0] if joined else next(iter(self.members.values()), None)
            self.leader_id = chosen.member_id if chosen is not None else None
        return member

    def update_protocols(self, member: MemberMetadata, protocols: list[tuple[str, bytes]]) -> None:
        for name in member.protocol_names:
            self._supported[name] -= 1
        member.protocols = protocols
        for name in member.protocol_names:
            self._supported[name] = self._supported.get(name, 0) + 1

    def replace_static_member(self, instance_id: str, old_id: str, new_id: str) -> MemberMetadata:
        """Give a static member a new member id (KIP-345); returns the member, callbacks still set."""
        member = self.members.pop(old_id)
        member.member_id = new_id
        self.members[new_id] = member
        self.static_members[instance_id] = new_id
        if self.leader_id == old_id:
            self.leader_id = new_id
        if old_id in self.pending_sync:
            self.pending_sync.discard(old_id)
            self.pending_sync.add(new_id)
        return member

    def static_member_id(self, instance_id: str | None) -> str | None:
        return None if instance_id is None else self.static_members.get(instance_id)

    def is_static_member_fenced(self, member_id: str, instance_id: str | None) -> bool:
        """A static member whose id was replaced by a newer join with the same instance id."""
        current = self.static_member_id(instance_id)
        return current is not None and current != member_id

    def generate_member_id(self, client_id: str, instance_id: str | None) -> str:
        """``<client id or instance id>-<uuid>``, as Kafka makes them, the prefix cut so that the id
        still fits in a string (a client id may itself be 32,767 bytes)."""
        prefix = instance_id if instance_id is not None else client_id
        if len(prefix) > _MAX_PREFIX // 4:
            prefix = prefix.encode()[:_MAX_PREFIX].decode(errors="ignore")
        return f"{prefix}-{uuid.uuid4()}"

    @property
    def awaiting_join_count(self) -> int:
        return sum(1 for m in self.members.values() if m.awaiting_join is not None)

    def has_all_members_joined(self) -> bool:
        return self.awaiting_join_count == len(self.members) and not self.pending_members

    def not_yet_rejoined(self) -> list[MemberMetadata]:
        return [m for m in self.members.values() if m.awaiting_join is None]

    # -- protocols ---------------------------------------------------------------------------------
    def supports_protocols(self, protocol_type: str, names: list[str]) -> bool:
        """Whether a member with these protocols may join: Kafka's supportsProtocols."""
        if not self.members:
            return bool(protocol_type) and bool(names)
        return protocol_type == self.protocol_type and any(
            self._supported.get(n, 0) == len(self.members) for n in names
        )

    def select_protocol(self) -> str:
        """The protocol every member supports that most members prefer (each votes for its favourite)."""
        candidates = {name for name, count in self._supported.items() if count == len(self.members)}
        if not candidates:
            raise ValueError(f"{self!r}: no protocol supported by every member")
        votes: dict[str, int] = {}
        for member in self.members.values():
            choice = member.vote(candidates)
            votes[choice] = votes.get(choice, 0) + 1
        return max(votes, key=lambda name: votes[name])

    def init_next_generation(self, now_ms: int) -> None:
        """A rebalance completes: the next generation, with a protocol if anyone is left."""
        self.generation_id += 1
        if self.members:
            self.protocol_name = self.select_protocol()
            self.subscribed_topics = self.compute_subscribed_topics()
            self.transition_to(GroupState.COMPLETING_REBALANCE, now_ms)
        else:
            self.protocol_name = None
            self.subscribed_topics = None
            self.transition_to(GroupState.EMPTY, now_ms)
        self.pending_sync = set()

    def compute_subscribed_topics(self) -> set[str] | None:
        if self.protocol_type != CONSUMER_PROTOCOL_TYPE or self.protocol_name is None:
            return None
        topics: set[str] = set()
        for member in self.members.values():
            try:
                _, subscription = decode_subscription(member.metadata(self.protocol_name))
            except ProtocolError:
                return None
            topics.update(subscription.topics)
        return topics

    def is_subscribed_to(self, topic: str) -> bool:
        return self.subscribed_topics is not None and topic in self.subscribed_topics

    def current_member_metadata(self) -> list[tuple[str, str | None, bytes]]:
        assert self.protocol_name is not None
        return [(m.member_id, m.group_instance_id, m.metadata(self.protocol_name)) for m in self.members.values()]

    def max_rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def sync_deadline_ms(self) -> int:
        """How long members have to send SyncGroup after a join completes.

        Kafka 3.x uses the rebalance timeout alone, so a member that joined with 0 (kafkajs's
        low-level API) is removed before it can sync; Kafka 2.4 had no deadline. The session
        timeout is the floor here, so both kinds of client can sync.
        """
        return max((max(m.rebalance_timeout_ms, m.session_timeout_ms) for m in self.members.values()), default=0)

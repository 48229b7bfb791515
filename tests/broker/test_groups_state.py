"""The classic group state machine, driven by hand: no broker, an injected clock, real records written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from broker.coordinator.group import records
from broker.coordinator.group.config import GroupConfig
from broker.coordinator.group.coordinator import GroupCoordinator
from broker.coordinator.group.group import JoinResult, OffsetAndMetadata, SyncResult
from broker.coordinator.group.state import GroupState
from broker.coordinator.group.timers import ManualScheduler
from protocol.errors import ErrorCode
from protocol.messages._consumer_protocol import ConsumerProtocolSubscription, encode_subscription

E = ErrorCode
TopicPartition = tuple[str, int]
SUB = encode_subscription(ConsumerProtocolSubscription(topics=["t"]))
PROTOCOLS = [("range", SUB)]


@dataclass
class LogWriter:
    """Keeps what the coordinator appends, in order, exactly as it would go to the log. Appends
    complete at once (with ``fail_with``), or, while ``held``, when the test calls ``complete``."""

    batches: list[tuple[str, list[tuple[bytes, bytes | None]]]] = field(default_factory=list)
    fail_with: ErrorCode = ErrorCode.NONE
    held: bool = False
    in_flight: list[tuple[str, list[tuple[bytes, bytes | None]], Callable[[ErrorCode], None]]] = field(
        default_factory=list
    )

    def append(
        self,
        group_id: str,
        batch: list[tuple[bytes, bytes | None]],
        callback: Callable[[ErrorCode], None],
        producer: tuple[int, int] | None = None,
    ) -> None:
        if self.held:
            self.in_flight.append((group_id, batch, callback))
        else:
            self._finish(group_id, batch, callback, self.fail_with)

    def complete(self, error: ErrorCode = ErrorCode.NONE) -> None:
        """Complete the oldest append in flight with ``error``."""
        group_id, batch, callback = self.in_flight.pop(0)
        self._finish(group_id, batch, callback, error)

    def _finish(
        self,
        group_id: str,
        batch: list[tuple[bytes, bytes | None]],
        callback: Callable[[ErrorCode], None],
        error: ErrorCode,
    ) -> None:
        if error is ErrorCode.NONE:
            self.batches.append((group_id, batch))
        callback(error)

    def replay(self) -> list[records.AnyRecord]:
        return [records.parse(k, v) for _, batch in self.batches for k, v in batch]


class Offsets:
    """The offset and group admin operations, answered at once (the writer completes at once)."""

    gc: GroupCoordinator

    def commit(
        self, group: str, member: str, instance: str | None, generation: int, offsets: dict[TopicPartition, Any]
    ) -> dict[TopicPartition, ErrorCode]:
        out: list[dict[TopicPartition, ErrorCode]] = []
        self.gc.commit_offsets(group, member, instance, generation, offsets, out.append)
        assert len(out) == 1
        return out[0]

    def delete_offsets(
        self, group: str, partitions: list[TopicPartition]
    ) -> tuple[ErrorCode, dict[TopicPartition, ErrorCode]]:
        out: list[tuple[ErrorCode, dict[TopicPartition, ErrorCode]]] = []
        self.gc.delete_offsets(group, partitions, out.append)
        assert len(out) == 1
        return out[0]

    def delete_groups(self, groups: list[str]) -> dict[str, ErrorCode]:
        out: list[dict[str, ErrorCode]] = []
        self.gc.delete_groups(groups, out.append)
        assert len(out) == 1
        return out[0]


class Harness(Offsets):
    def __init__(self, **config: int) -> None:
        defaults: dict[str, Any] = {"initial_rebalance_delay_ms": 0, "min_session_timeout_ms": 1000}
        self.config = GroupConfig(**{**defaults, **config})
        self.clock = ManualScheduler()
        self.log = LogWriter()
        self.gc = GroupCoordinator(self.config, self.clock, self.log)

    def join(
        self,
        member_id: str = "",
        group: str = "g",
        instance: str | None = None,
        session: int = 10_000,
        rebalance: int = 30_000,
        protocols: list[tuple[str, bytes]] | None = None,
        require_known: bool = False,
        protocol_type: str = "consumer",
    ) -> list[JoinResult]:
        out: list[JoinResult] = []
        self.gc.join_group(
            group, member_id, instance, require_known, False, "client", "/127.0.0.1", rebalance, session,
            protocol_type, PROTOCOLS if protocols is None else protocols, out.append,
        )  # fmt: skip
        return out

    def sync(self, member_id: str, generation: int, assignments: dict[str, bytes] | None = None,
             group: str = "g", instance: str | None = None) -> list[SyncResult]:  # fmt: skip
        out: list[SyncResult] = []
        self.gc.sync_group(group, generation, member_id, instance, None, None, assignments or {}, out.append)
        return out

    def state(self, group: str = "g") -> GroupState:
        return self.gc.groups[group].state

    def stable_pair(self) -> tuple[str, str, int]:
        """Two members in a Stable group; returns their ids (leader first) and the generation."""
        first = self.join()
        self.clock.advance(0)
        a = first[0].member_id
        assert first[0].error is E.NONE and first[0].generation_id == 1
        self.sync(a, 1, {a: b"A"})
        second = self.join()
        rejoin_a = self.join(a)
        assert second and rejoin_a
        b = second[0].member_id
        generation = second[0].generation_id
        self.sync(a, generation, {a: b"A2", b: b"B2"})
        return a, b, generation


def test_first_member_becomes_leader_and_gets_its_assignment() -> None:
    h = Harness()
    joined = h.join()
    assert joined == []  # waits out the initial delay (0 ms, but still a timer)
    h.clock.advance(0)
    (result,) = joined
    assert result.error is E.NONE and result.generation_id == 1 and result.leader_id == result.member_id
    assert result.protocol_name == "range" and [m[0] for m in result.members] == [result.member_id]
    assert h.state() is GroupState.COMPLETING_REBALANCE
    (synced,) = h.sync(result.member_id, 1, {result.member_id: b"assignment"})
    assert synced.error is E.NONE and synced.assignment == b"assignment"
    assert h.state() is GroupState.STABLE


def test_initial_delay_collects_members_into_one_generation() -> None:
    h = Harness(initial_rebalance_delay_ms=3000)
    first, second = h.join(), h.join()
    h.clock.advance(2999)
    assert first == [] and second == []
    h.clock.advance(1)  # a member arrived during the first delay: the delay is extended once
    assert first == []
    h.clock.advance(3000)
    assert first[0].generation_id == second[0].generation_id == 1
    leader = [r for r in first + second if r.members]
    assert len(leader) == 1 and len(leader[0].members) == 2


def test_member_id_required_then_join_with_it() -> None:
    h = Harness()
    (first,) = h.join(require_known=True)
    assert first.error is E.MEMBER_ID_REQUIRED and first.member_id.startswith("client-")
    joined = h.join(first.member_id)
    h.clock.advance(0)
    assert joined[0].error is E.NONE and joined[0].member_id == first.member_id


def test_pending_member_id_expires_after_the_session_timeout() -> None:
    h = Harness()
    (first,) = h.join(require_known=True, session=5000)
    h.clock.advance(5000)
    (late,) = h.join(first.member_id)
    assert late.error is E.UNKNOWN_MEMBER_ID


def test_session_timeout_removes_a_silent_member_and_the_group_rebalances() -> None:
    h = Harness()
    a, b, generation = h.stable_pair()
    h.clock.advance(9000)
    assert h.gc.heartbeat("g", a, None, generation) is E.NONE
    h.clock.advance(1500)  # b never heartbeated: its 10 s session is over
    assert b not in h.gc.groups["g"].members
    assert h.gc.heartbeat("g", a, None, generation) is E.REBALANCE_IN_PROGRESS
    rejoined = h.join(a)
    assert rejoined[0].generation_id == generation + 1 and [m[0] for m in rejoined[0].members] == [a]
    assert h.gc.heartbeat("g", b, None, generation) is E.UNKNOWN_MEMBER_ID


def test_rebalance_timeout_drops_members_that_do_not_rejoin() -> None:
    h = Harness()
    a, b, generation = h.stable_pair()
    joined = h.join(a)  # a rejoins; b keeps heartbeating but never rejoins
    for _ in range(5):
        h.clock.advance(5000)
        assert h.gc.heartbeat("g", b, None, generation) is E.REBALANCE_IN_PROGRESS
    assert joined == []
    h.clock.advance(5000)  # the largest rebalance timeout (30 s) is over
    assert joined[0].error is E.NONE and joined[0].generation_id == generation + 1
    assert list(h.gc.groups["g"].members) == [a]


def test_members_that_do_not_sync_in_time_are_removed() -> None:
    h = Harness()
    a, b, generation = h.stable_pair()
    h.join(a, rebalance=5000)
    h.join(b, rebalance=5000)
    assert h.state() is GroupState.COMPLETING_REBALANCE
    waiting = h.sync(b, generation + 1)  # the leader never syncs
    assert waiting == []
    h.clock.advance(5000)  # the rebalance timeout is over, but the deadline is never below the session
    assert a in h.gc.groups["g"].members
    h.clock.advance(5000)  # the 10 s session timeout is over
    assert a not in h.gc.groups["g"].members
    assert waiting[0].error is E.REBALANCE_IN_PROGRESS


def test_a_member_that_joined_with_no_rebalance_timeout_can_still_sync() -> None:
    h = Harness()
    out = h.join(rebalance=0, session=10_000)  # kafkajs's low-level API sends 0
    h.clock.advance(0)
    (joined,) = out
    h.clock.advance(1000)
    (synced,) = h.sync(joined.member_id, joined.generation_id, {joined.member_id: b"A"})
    assert synced.error is E.NONE


def test_generation_and_member_checks() -> None:
    h = Harness()
    a, b, generation = h.stable_pair()
    assert h.gc.heartbeat("g", a, None, generation - 1) is E.ILLEGAL_GENERATION
    assert h.gc.heartbeat("g", "stranger", None, generation) is E.UNKNOWN_MEMBER_ID
    assert h.gc.heartbeat("nope", a, None, generation) is E.UNKNOWN_MEMBER_ID
    assert h.gc.heartbeat("", a, None, generation) is E.INVALID_GROUP_ID
    assert h.sync(a, generation + 5)[0].error is E.ILLEGAL_GENERATION
    assert h.sync("stranger", generation)[0].error is E.UNKNOWN_MEMBER_ID
    assert h.join("stranger")[0].error is E.UNKNOWN_MEMBER_ID
    tp = ("t", 0)
    commit = OffsetAndMetadata(5, -1, "", 0)
    assert h.commit("g", a, None, generation - 1, {tp: commit}) == {tp: E.ILLEGAL_GENERATION}
    assert h.commit("g", "stranger", None, generation, {tp: commit}) == {tp: E.UNKNOWN_MEMBER_ID}
    assert h.commit("g", "", None, -1, {tp: commit}) == {tp: E.UNKNOWN_MEMBER_ID}  # not simple: members
    assert h.commit("g", b, None, generation, {tp: commit}) == {tp: E.NONE}
    assert h.state() is GroupState.STABLE and h.gc.groups["g"].generation_id == generation


def test_bad_joins_get_their_errors_and_leave_other_groups_alone() -> None:
    h = Harness(max_session_timeout_ms=60_000, max_size=1)
    Harness().stable_pair()  # another coordinator entirely: nothing leaks between them
    assert h.join(session=999)[0].error is E.INVALID_SESSION_TIMEOUT
    assert h.join(session=60_001)[0].error is E.INVALID_SESSION_TIMEOUT
    assert h.join(group="")[0].error is E.INVALID_GROUP_ID
    assert h.join(protocols=[])[0].error is E.INCONSISTENT_GROUP_PROTOCOL
    assert h.join(protocol_type="")[0].error is E.INCONSISTENT_GROUP_PROTOCOL
    assert "g" not in h.gc.groups  # failed first joins leave no group behind
    first = h.join(group="other")
    h.clock.advance(0)
    assert first[0].error is E.NONE
    h.sync(first[0].member_id, 1, group="other")
    assert h.join(group="other")[0].error is E.GROUP_MAX_SIZE_REACHED
    assert h.state("other") is GroupState.STABLE


def test_a_member_with_no_protocol_in_common_is_refused() -> None:
    h = Harness()
    a, _, generation = h.stable_pair()
    assert h.join(protocols=[("roundrobin", SUB)])[0].error is E.INCONSISTENT_GROUP_PROTOCOL
    assert h.join(protocol_type="connect")[0].error is E.INCONSISTENT_GROUP_PROTOCOL
    assert h.state() is GroupState.STABLE and h.gc.heartbeat("g", a, None, generation) is E.NONE


def test_protocol_chosen_by_votes_among_common_protocols() -> None:
    h = Harness(initial_rebalance_delay_ms=10)
    results = [
        h.join(protocols=[("range", SUB), ("sticky", SUB)]),
        h.join(protocols=[("sticky", SUB), ("range", SUB)]),
        h.join(protocols=[("sticky", SUB), ("range", SUB), ("roundrobin", SUB)]),
    ]
    h.clock.advance(100)
    assert {r[0].protocol_name for r in results} == {"sticky"}


def test_static_member_rejoin_keeps_the_assignment_and_fences_the_old_id() -> None:
    h = Harness()
    joined = h.join(instance="i-1")
    h.clock.advance(0)
    old = joined[0].member_id
    assert old.startswith("i-1-")
    h.sync(old, 1, {old: b"mine"})
    (again,) = h.join(instance="i-1")  # restarted: no member id, same instance id
    assert again.error is E.NONE and again.member_id != old and again.generation_id == 1
    assert h.state() is GroupState.STABLE  # no rebalance
    (synced,) = h.sync(again.member_id, 1, instance="i-1")
    assert synced.assignment == b"mine"
    assert h.gc.heartbeat("g", old, "i-1", 1) is E.FENCED_INSTANCE_ID
    ok = {("t", 0): E.NONE}
    fenced = {("t", 0): E.FENCED_INSTANCE_ID}
    assert h.commit("g", old, "i-1", 1, {("t", 0): OffsetAndMetadata(1, -1, "", 0)}) == fenced
    assert h.commit("g", again.member_id, "i-1", 1, {("t", 0): OffsetAndMetadata(1, -1, "", 0)}) == ok


def test_leave_group_batch_and_admin_removal_by_instance_id() -> None:
    h = Harness()
    a, b, _ = h.stable_pair()
    error, errors = h.gc.leave_group("g", [(b, None), ("ghost", None), ("", "no-such-instance")])
    assert error is E.NONE and errors == [E.NONE, E.UNKNOWN_MEMBER_ID, E.UNKNOWN_MEMBER_ID]
    assert h.state() is GroupState.PREPARING_REBALANCE
    assert h.gc.leave_group("missing", [(a, None)]) == (E.NONE, [E.UNKNOWN_MEMBER_ID])
    h.gc.leave_group("g", [(a, None)])
    assert h.state() is GroupState.EMPTY


def test_simple_commits_fetch_delete_and_metadata_limit() -> None:
    h = Harness(offset_metadata_max_bytes=10)
    tp0, tp1 = ("t", 0), ("t", 1)
    result = h.commit(
        "simple", "", None, -1, {tp0: OffsetAndMetadata(7, 3, "ok", 1), tp1: OffsetAndMetadata(9, -1, "x" * 11, 1)}
    )
    assert result == {tp0: E.NONE, tp1: E.OFFSET_METADATA_TOO_LARGE}
    fetched = h.gc.fetch_offsets("simple", [tp0, tp1])
    first = fetched[tp0]
    assert fetched[tp1] is None and first is not None and first.offset == 7
    assert h.commit("nobody", "m", None, 3, {tp0: OffsetAndMetadata(1, -1, "", 1)}) == {tp0: E.ILLEGAL_GENERATION}
    assert [g.group_id for g in h.gc.list_groups()] == ["simple"]
    assert h.delete_offsets("simple", [tp0]) == (E.NONE, {tp0: E.NONE})
    assert h.gc.fetch_offsets("simple", None) == {}
    assert h.delete_offsets("unknown", [tp0])[0] is E.GROUP_ID_NOT_FOUND


def test_delete_groups_and_offset_delete_of_subscribed_topics() -> None:
    h = Harness()
    a, _, generation = h.stable_pair()
    h.commit("g", a, None, generation, {("t", 0): OffsetAndMetadata(1, -1, "", 0)})
    h.commit("g", a, None, generation, {("u", 0): OffsetAndMetadata(1, -1, "", 0)})
    error, errors = h.delete_offsets("g", [("t", 0), ("u", 0)])
    assert error is E.NONE and errors == {("t", 0): E.GROUP_SUBSCRIBED_TO_TOPIC, ("u", 0): E.NONE}
    assert h.delete_groups(["g", "nope"]) == {"g": E.NON_EMPTY_GROUP, "nope": E.GROUP_ID_NOT_FOUND}
    h.gc.leave_group("g", [(m, None) for m in list(h.gc.groups["g"].members)])
    assert h.delete_groups(["g"]) == {"g": E.NONE}
    assert h.gc.describe_group("g").state == "Dead" and "g" not in h.gc.groups


def test_a_group_whose_tombstones_cannot_be_stored_is_back_with_its_offsets() -> None:
    h = Harness()
    tp = ("t", 0)
    assert h.commit("simple", "", None, -1, {tp: OffsetAndMetadata(7, -1, "", 1)}) == {tp: E.NONE}
    h.log.fail_with = E.NOT_COORDINATOR
    assert h.delete_groups(["simple"]) == {"simple": E.NOT_COORDINATOR}
    assert h.state("simple") is GroupState.EMPTY
    back = h.gc.fetch_offsets("simple", [tp])[tp]
    assert back is not None and back.offset == 7
    h.log.fail_with = E.NONE
    assert h.delete_groups(["simple"]) == {"simple": E.NONE}
    assert "simple" not in h.gc.groups and h.gc.fetch_offsets("simple", None) == {}


def test_failed_assignment_write_resets_the_rebalance() -> None:
    h = Harness()
    joined = h.join()
    h.clock.advance(0)
    h.log.fail_with = E.MESSAGE_TOO_LARGE
    (synced,) = h.sync(joined[0].member_id, 1, {joined[0].member_id: b"x"})
    assert synced.error is E.UNKNOWN_SERVER_ERROR
    assert h.state() is GroupState.PREPARING_REBALANCE


def test_offsets_of_an_empty_group_expire_after_retention() -> None:
    h = Harness(offsets_retention_ms=60_000)
    a, _, generation = h.stable_pair()
    h.commit("g", a, None, generation, {("t", 0): OffsetAndMetadata(4, -1, "", h.clock.now_ms())})
    h.clock.advance(10_000)  # both members miss their session timeouts: Empty from now on
    assert h.state() is GroupState.EMPTY
    h.clock.advance(59_000)
    assert h.gc.expire_offsets() == 0
    h.clock.advance(2_000)
    assert h.gc.expire_offsets() == 1
    assert "g" not in h.gc.groups
    assert any(isinstance(r, records.GroupRecord) and r.value is None for r in h.log.replay())


def test_everything_written_loads_back() -> None:
    h = Harness()
    a, b, generation = h.stable_pair()
    h.commit("g", a, None, generation, {("t", 0): OffsetAndMetadata(11, 2, "meta", 5)})
    h.commit("s", "", None, -1, {("t", 1): OffsetAndMetadata(3, -1, "", 6)})
    h.commit("gone", "", None, -1, {("t", 1): OffsetAndMetadata(3, -1, "", 6)})
    h.delete_groups(["gone"])
    fresh = Harness()
    fresh.gc.load(h.log.replay())
    assert sorted(fresh.gc.groups) == ["g", "s"]
    g = fresh.gc.groups["g"]
    assert g.state is GroupState.STABLE and g.generation_id == generation and g.leader_id == a
    assert {m: g.members[m].assignment for m in g.members} == {a: b"A2", b: b"B2"}
    assert g.offsets[("t", 0)] == OffsetAndMetadata(11, 2, "meta", 5)
    fresh.clock.advance(5_000)
    assert fresh.gc.heartbeat("g", b, None, generation) is E.NONE
    fresh.clock.advance(6_000)  # loaded members must heartbeat too: a did not
    assert list(fresh.gc.groups["g"].members) == [b]
    assert fresh.state() is GroupState.PREPARING_REBALANCE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a", 97),
        ("Aa", 2112),
        ("BB", 2112),
        ("hello", 99162322),
        ("polygenelubricants", -(2**31)),
        ("ü€", 0xFC * 31 + 0x20AC),
        ("\U0001f600", 0xD83D * 31 + 0xDE00),
    ],
)
def test_java_string_hash(text: str, expected: int) -> None:
    assert records.java_string_hash(text) == expected


def test_partition_for_matches_kafka_abs() -> None:
    assert records.partition_for("hello", 50) == 99162322 % 50
    assert records.partition_for("polygenelubricants", 50) == 0  # Utils.abs(MIN_VALUE) is 0
    assert records.partition_for("\U0001f600", 7) == (0xD83D * 31 + 0xDE00) % 7

"""KIP-848 consumer groups driven by hand: assignors, reconciliation, fencing and timeouts (no broker)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from broker.coordinator.group import records
from broker.coordinator.group.config import GroupConfig
from broker.coordinator.group.consumer.assignors import range_assign, uniform_assign
from broker.coordinator.group.consumer.validation import Heartbeat, HeartbeatResult
from broker.coordinator.group.coordinator import GroupCoordinator
from broker.coordinator.group.group import JoinResult, OffsetAndMetadata
from broker.coordinator.group.timers import ManualScheduler
from protocol.errors import ErrorCode as E
from tests.broker.test_groups_state import LogWriter, Offsets

TOPICS = {"t": 6, "u": 3}


class Harness(Offsets):
    def __init__(self, retention_ms: int = 7 * 24 * 3600 * 1000) -> None:
        self.config = GroupConfig(
            consumer_session_timeout_ms=10000, consumer_heartbeat_interval_ms=1000, offsets_retention_ms=retention_ms
        )
        self.clock = ManualScheduler()
        self.log = LogWriter()
        self.topics = dict(TOPICS)
        self.gc = GroupCoordinator(self.config, self.clock, self.log, lambda: self.topics)
        self.owned: dict[str, dict[str, set[int]]] = {}  # what each client currently consumes

    def beat(self, member: str, epoch: int, group: str = "g", **extra: object) -> HeartbeatResult:
        fields: dict[str, object] = {"group_id": group, "member_id": member, "member_epoch": epoch}
        if epoch == 0:
            fields.update(rebalance_timeout_ms=5000, subscribed_topic_names=["t"], owned={})
        else:
            fields["owned"] = self.owned.get(member, {})
        fields.update(extra)
        out: list[HeartbeatResult] = []
        self.gc.consumer.heartbeat(Heartbeat(**fields), out.append)  # type: ignore[arg-type]
        assert len(out) == 1
        result = out[0]
        if result.error is E.NONE and result.assignment is not None:
            self.owned[member] = {t: set(ps) for t, ps in result.assignment.items() if ps}
        return result

    def epoch(self, member: str, group: str = "g") -> int:
        return self.gc.consumer.groups[group].members[member].member_epoch


def flat(assignment: dict[str, set[int]]) -> set[tuple[str, int]]:
    return {(t, p) for t, ps in assignment.items() for p in ps}


def test_a_member_joins_and_gets_every_partition() -> None:
    h = Harness()
    r = h.beat("a", 0)
    assert (r.error, r.member_epoch, r.heartbeat_interval_ms) == (E.NONE, 1, 1000)
    assert r.assignment == {"t": set(range(6))}
    group = h.gc.consumer.groups["g"]
    assert (str(group.state), group.group_epoch, group.assignment_epoch) == ("Stable", 1, 1)
    # The epoch is stored before it is used: a ConsumerGroupMetadata record (key version 3).
    parsed = [r for r in h.log.replay() if isinstance(r, records.ConsumerGroupRecord)]
    assert parsed[-1].key.group == "g" and parsed[-1].value is not None and parsed[-1].value.epoch == 1


def test_v0_join_without_member_id_gets_one_from_the_coordinator() -> None:
    h = Harness()
    r = h.beat("", 0, version=0)
    assert r.error is E.NONE and r.member_id and len(r.member_id) == 22


def test_partitions_move_only_after_their_owner_revokes_them() -> None:
    h = Harness()
    h.beat("a", 0)
    r = h.beat("b", 0)
    assert r.member_epoch == 2 and r.assignment == {}  # a still owns everything: nothing for b yet
    ra = h.beat("a", 1)
    # a keeps its epoch and is told what it keeps; it must revoke the rest first.
    assert ra.member_epoch == 1 and ra.assignment is not None and len(flat(ra.assignment)) == 3
    assert str(h.gc.consumer.groups["g"].state) == "Reconciling"
    ra = h.beat("a", 1)  # now reports only what it kept: it moves to epoch 2
    assert ra.member_epoch == 2
    rb = h.beat("b", 2)
    assert rb.assignment is not None and len(flat(rb.assignment)) == 3
    assert flat(h.owned["a"]) | flat(h.owned["b"]) == {("t", p) for p in range(6)}
    assert not flat(h.owned["a"]) & flat(h.owned["b"])
    assert str(h.gc.consumer.groups["g"].state) == "Stable"


def test_leave_frees_partitions_and_bumps_the_epoch() -> None:
    h = Harness()
    h.beat("a", 0)
    h.beat("b", 0)
    h.beat("a", 1)
    h.beat("a", 1)
    h.beat("b", 2)
    r = h.beat("b", -1)
    assert (r.error, r.member_epoch) == (E.NONE, -1)
    assert h.gc.consumer.groups["g"].group_epoch == 3
    r = h.beat("a", 2)
    assert r.member_epoch == 3 and r.assignment == {"t": set(range(6))}


def test_fencing_unknown_members_and_bad_epochs() -> None:
    h = Harness()
    h.beat("a", 0)
    h.beat("b", 0)
    assert h.beat("zz", 1).error is E.UNKNOWN_MEMBER_ID
    assert h.beat("a", 7).error is E.FENCED_MEMBER_EPOCH  # ahead of the coordinator
    h.beat("a", 1)
    h.beat("a", 1)  # a is now at epoch 2, previous epoch 1
    assert h.beat("a", 1).error is E.NONE  # the previous epoch with a subset: the answer was lost
    h.owned["a"] = {"t": set(range(6))}
    assert h.beat("a", 1).error is E.FENCED_MEMBER_EPOCH  # previous epoch but more than assigned
    assert h.beat("b", -1, group="nope").error is E.GROUP_ID_NOT_FOUND
    assert h.beat("b", 1, group="nope").error is E.GROUP_ID_NOT_FOUND


def test_session_timeout_removes_a_silent_member() -> None:
    h = Harness()
    h.beat("a", 0)
    h.beat("b", 0)
    for _ in range(3):
        h.clock.advance(4000)
        h.beat("a", h.epoch("a"))
    assert "b" not in h.gc.consumer.groups["g"].members
    h.beat("a", h.epoch("a"))
    assert h.beat("a", h.epoch("a")).member_epoch == h.gc.consumer.groups["g"].group_epoch
    assert flat(h.owned["a"]) == {("t", p) for p in range(6)}


def test_a_member_that_does_not_revoke_in_time_is_fenced() -> None:
    h = Harness()
    h.beat("a", 0)
    h.beat("b", 0)
    h.beat("a", 1)  # told to revoke three partitions
    h.owned["a"] = {"t": set(range(6))}  # but keeps reporting them
    for _ in range(3):
        h.clock.advance(2000)
        h.beat("b", h.epoch("b"))
        if "a" in h.gc.consumer.groups["g"].members:
            h.beat("a", 1)
    assert "a" not in h.gc.consumer.groups["g"].members  # the rebalance timeout (5 s) passed


def test_static_member_leaves_temporarily_and_comes_back_with_its_partitions() -> None:
    h = Harness()
    h.beat("s1", 0, instance_id="i1")
    r = h.beat("s1", -2, instance_id="i1")
    assert (r.error, r.member_epoch) == (E.NONE, -2)
    assert h.beat("s2", 0, instance_id="i1", version=1).error is E.NONE
    group = h.gc.consumer.groups["g"]
    assert list(group.members) == ["s2"] and group.group_epoch == 1  # no rebalance
    assert h.owned["s2"] == {"t": set(range(6))}
    assert h.beat("s3", 0, instance_id="i1").error is E.UNRELEASED_INSTANCE_ID
    assert h.beat("s1", 1, instance_id="i1").error is E.FENCED_INSTANCE_ID
    assert h.beat("s9", 1, instance_id="i9").error is E.UNKNOWN_MEMBER_ID


def test_malformed_requests() -> None:
    h = Harness()
    bad: list[tuple[dict[str, Any], str]] = [
        ({"rebalance_timeout_ms": -1}, "RebalanceTimeoutMs must be provided in first request."),
        ({"owned": None}, "TopicPartitions must be empty when (re-)joining."),
        ({"subscribed_topic_names": None}, "Either SubscribedTopicNames or SubscribedTopicRegex"),
        ({"group_id": " "}, "GroupId can't be empty."),
        ({"instance_id": ""}, "InstanceId can't be empty."),
    ]
    for extra, message in bad:
        r = h.beat("a", 0, **extra)
        assert r.error is E.INVALID_REQUEST and r.message is not None and r.message.startswith(message)
    assert h.beat("a", -3).error is E.INVALID_REQUEST
    assert h.beat("a", -2).message == "InstanceId can't be null."
    assert h.beat("", 0, version=1).message == "MemberId can't be empty."
    assert h.beat("a", 0, server_assignor="sticky").error is E.UNSUPPORTED_ASSIGNOR
    assert h.beat("a", 0, subscribed_topic_regex="(").error is E.INVALID_REGULAR_EXPRESSION
    assert "g" not in h.gc.consumer.groups  # none of these created anything


def test_regex_subscription_follows_topic_creation() -> None:
    h = Harness()
    r = h.beat("a", 0, subscribed_topic_names=None, subscribed_topic_regex="t|new.*")
    assert r.assignment == {"t": set(range(6))}
    h.topics["new-one"] = 2
    r = h.beat("a", h.epoch("a"))
    assert r.member_epoch == 2 and r.assignment == {"t": set(range(6)), "new-one": {0, 1}}


def test_classic_and_consumer_groups_exclude_each_other() -> None:
    h = Harness()
    h.beat("a", 0)
    results: list[JoinResult] = []
    h.gc.join_group("g", "", None, False, False, "c", "h", 5000, 10000, "consumer", [("range", b"")], results.append)
    assert results[0].error is E.INCONSISTENT_GROUP_PROTOCOL
    h.beat("a", -1)
    # An empty consumer group gives way to a classic join, offsets kept.
    h.gc.consumer.groups["g"].offsets[("t", 0)] = OffsetAndMetadata(5, -1, "", 0)
    h.gc.join_group("g", "", None, False, False, "c", "h", 5000, 10000, "consumer", [("range", b"")], results.append)
    assert "g" not in h.gc.consumer.groups and h.gc.groups["g"].offsets[("t", 0)].offset == 5
    h.clock.advance(10)
    assert h.beat("b", 0).error is E.GROUP_ID_NOT_FOUND  # a classic group with members


def test_commits_are_checked_against_member_epochs() -> None:
    h = Harness()
    h.beat("a", 0)
    om = {("t", 0): OffsetAndMetadata(3, -1, "", 0)}
    assert h.commit("g", "a", None, 1, om) == {("t", 0): E.NONE}
    assert h.commit("g", "a", None, 0, om) == {("t", 0): E.STALE_MEMBER_EPOCH}
    assert h.commit("g", "x", None, 1, om) == {("t", 0): E.UNKNOWN_MEMBER_ID}
    assert h.commit("g", "", None, -1, om) == {("t", 0): E.UNKNOWN_MEMBER_ID}
    assert h.gc.check_offset_fetch("g", "a", 0) is E.STALE_MEMBER_EPOCH
    assert h.gc.check_offset_fetch("g", None, -1) is E.NONE
    assert h.delete_groups(["g"]) == {"g": E.NON_EMPTY_GROUP}
    h.beat("a", -1)
    assert h.delete_groups(["g"]) == {"g": E.NONE}


def test_a_consumer_group_whose_tombstones_cannot_be_stored_is_back_with_its_offsets() -> None:
    h = Harness()
    h.beat("a", 0)
    assert h.commit("g", "a", None, 1, {("t", 0): OffsetAndMetadata(3, -1, "", 0)}) == {("t", 0): E.NONE}
    h.beat("a", -1)
    h.log.fail_with = E.NOT_COORDINATOR
    assert h.delete_groups(["g"]) == {"g": E.NOT_COORDINATOR}
    group = h.gc.consumer.groups["g"]
    assert not group.dead and group.offsets[("t", 0)].offset == 3
    h.log.fail_with = E.NONE
    assert h.delete_groups(["g"]) == {"g": E.NONE}
    assert "g" not in h.gc.consumer.groups


def test_group_epoch_and_offsets_are_reloaded() -> None:
    h = Harness()
    h.beat("a", 0)
    h.commit("g", "a", None, 1, {("t", 0): OffsetAndMetadata(3, -1, "", 0)})
    again = GroupCoordinator(h.config, ManualScheduler(), h.log, lambda: TOPICS)
    again.load(h.log.replay())
    group = again.consumer.groups["g"]
    assert (group.group_epoch, str(group.state), group.offsets[("t", 0)].offset) == (1, "Empty", 3)


members_st = st.dictionaries(
    st.text("abcdef", min_size=1, max_size=3), st.sets(st.sampled_from(["t", "u", "v"]), max_size=3), max_size=6
)
topics_st = st.dictionaries(st.sampled_from(["t", "u", "v"]), st.integers(0, 12))


@settings(max_examples=200, deadline=None)
@given(members_st, topics_st, members_st)
def test_assignors_give_every_partition_to_exactly_one_subscriber(
    members: dict[str, set[str]], topics: dict[str, int], previous_subs: dict[str, set[str]]
) -> None:
    previous = uniform_assign(previous_subs, topics, {})
    for assign in (uniform_assign, range_assign):
        result = assign(members, topics, previous)
        assert set(result) == set(members)
        seen = [(t, p) for m, a in result.items() for t, ps in a.items() for p in ps if t in members[m]]
        total = [(t, p) for m, a in result.items() for t, ps in a.items() for p in ps]
        assert len(seen) == len(total) == len(set(total))
        wanted = {(t, p) for t, n in topics.items() for p in range(n) if any(t in s for s in members.values())}
        assert set(total) == wanted
    homogeneous = {m: set(topics) for m in members}
    counts = [sum(map(len, a.values())) for a in uniform_assign(homogeneous, topics, previous).values()]
    assert not counts or max(counts) - min(counts) <= 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from(["beat", "leave", "silent"])), max_size=40))
def test_no_partition_is_ever_consumed_by_two_members(steps: list[tuple[str, str]]) -> None:
    h = Harness()
    for name, action in steps:
        joined = name in h.gc.consumer.groups.get("g", _NoGroup).members
        if action == "leave" and joined:
            h.beat(name, -1)
            h.owned.pop(name, None)
        elif action == "beat":
            if not joined:
                h.owned.pop(name, None)
            r = h.beat(name, h.epoch(name) if joined else 0)
            assert r.error is E.NONE
        elif action == "silent":
            h.clock.advance(3000)
            for gone in set(h.owned) - set(h.gc.consumer.groups["g"].members if "g" in h.gc.consumer.groups else ()):
                h.owned.pop(gone)
        held = [tp for a in h.owned.values() for tp in flat(a)]
        assert len(held) == len(set(held)), h.owned


class _NoGroup:
    members: dict[str, object] = {}


def test_offsets_of_unsubscribed_topics_expire_and_an_empty_group_goes() -> None:
    h = Harness(retention_ms=8000)
    h.beat("a", 0)
    om = OffsetAndMetadata(3, -1, "", h.clock.now_ms())
    h.commit("g", "a", None, 1, {("t", 0): om, ("u", 0): om})
    for _ in range(2):
        h.clock.advance(4000)
        h.beat("a", 1)  # keeps the session alive
    assert h.gc.expire_offsets() == 1  # "u" is not subscribed; "t" is kept while a member subscribes
    assert set(h.gc.consumer.groups["g"].offsets) == {("t", 0)}
    h.beat("a", -1)
    assert h.gc.expire_offsets() == 1 and "g" not in h.gc.consumer.groups

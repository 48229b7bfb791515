"""Partition on real log files: roles, the high watermark as the smallest log end offset over the
ISR, ISR expansion and shrinking, follower log end offsets, and the acks=all check."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.partition import (
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    NotLeaderOrFollower,
    Partition,
    PendingIsrChange,
)
from storage.config import LogConfig
from storage.errors import OffsetOutOfRange
from storage.manager import LogManager
from tests.broker.inprocess import records

LAG_MS = 30_000


def partition(tmp_path: Path, replicas: list[int], isr: list[int], min_isr: int = 1) -> Partition:
    manager = LogManager([str(tmp_path / "logs")])
    manager.startup()
    log = manager.get_or_create_log("t", 0, LogConfig(min_insync_replicas=min_isr))
    p = Partition("t", 0, b"\0" * 16, log, leader_id=0, leader_epoch=0, replicas=[0], isr=[0], local_id=0)
    p.make_leader(1, isr=isr, replicas=replicas, now_ms=0)
    return p


def test_a_single_replica_moves_the_high_watermark_on_every_append(tmp_path: Path) -> None:
    p = partition(tmp_path, [0], [0])
    p.append_as_leader(records(b"a", b"b"), required_acks=-1)
    assert (p.log_end_offset, p.high_watermark) == (2, 2)


def test_the_high_watermark_is_the_smallest_log_end_offset_over_the_isr(tmp_path: Path) -> None:
    p = partition(tmp_path, [0, 1, 2], [0, 1, 2])
    p.append_as_leader(records(b"a", b"b", b"c"), required_acks=1)
    assert p.high_watermark == 0  # the followers' LEOs are unknown
    assert p.update_follower_fetch_state(1, 3, now_ms=1) is False
    assert p.high_watermark == 0
    assert p.update_follower_fetch_state(2, 2, now_ms=1) is True
    assert p.high_watermark == 2
    assert p.update_follower_fetch_state(2, 3, now_ms=2) is True
    assert p.high_watermark == 3
    assert [p.replica_log_end_offset(r) for r in (0, 1, 2)] == [3, 3, 3]


def test_the_high_watermark_never_moves_back(tmp_path: Path) -> None:
    p = partition(tmp_path, [0, 1], [0, 1])
    p.append_as_leader(records(b"a", b"b"), required_acks=1)
    p.update_follower_fetch_state(1, 2, now_ms=1)
    assert p.high_watermark == 2
    p.make_leader(2, isr=[0, 1], replicas=[0, 1], now_ms=2)  # a new epoch: follower LEOs unknown again
    assert p.high_watermark == 2


def test_a_follower_joins_the_isr_when_it_reaches_the_high_watermark(tmp_path: Path) -> None:
    p = partition(tmp_path, [0, 1, 2], [0, 1])
    p.append_as_leader(records(b"a", b"b"), required_acks=1)
    p.update_follower_fetch_state(1, 2, now_ms=1)
    assert p.high_watermark == 2 and p.isr == [0, 1]
    p.update_follower_fetch_state(2, 1, now_ms=1)
    assert 2 not in p.isr  # behind the HW
    p.update_follower_fetch_state(2, 2, now_ms=2)
    assert p.isr == [0, 1, 2]


def test_a_lagging_follower_leaves_the_isr_and_the_high_watermark_moves_on(tmp_path: Path) -> None:
    p = partition(tmp_path, [0, 1, 2], [0, 1, 2])
    p.append_as_leader(records(b"a"), required_acks=1)
    p.update_follower_fetch_state(1, 1, now_ms=10)  # caught up
    p.update_follower_fetch_state(2, 0, now_ms=10)  # behind
    assert p.high_watermark == 0
    assert p.maybe_shrink_isr(LAG_MS, now_ms=LAG_MS) == []  # within the lag (caught up at 0: make_leader)
    assert p.maybe_shrink_isr(LAG_MS, now_ms=LAG_MS + 11) == [2]
    assert p.isr == [0, 1] and p.high_watermark == 1


def test_a_follower_that_fetched_what_the_leader_had_last_time_counts_as_caught_up(tmp_path: Path) -> None:
    p = partition(tmp_path, [0, 1], [0, 1])
    p.append_as_leader(records(b"a"), required_acks=1)
    p.update_follower_fetch_state(1, 1, now_ms=100)  # at the log end: caught up at 100
    p.append_as_leader(records(b"b"), required_acks=1)
    p.update_follower_fetch_state(1, 1, now_ms=200)  # behind now, but has what the leader had at 100
    assert p.remote[1].last_caught_up_ms == 100
    assert p.maybe_shrink_isr(LAG_MS, now_ms=100 + LAG_MS) == []


def test_follower_fetch_offsets_beyond_the_log_end_are_refused(tmp_path: Path) -> None:
    p = partition(tmp_path, [0, 1], [0, 1])
    with pytest.raises(OffsetOutOfRange):
        p.update_follower_fetch_state(1, 5, now_ms=1)
    with pytest.raises(NotLeaderOrFollower):
        p.update_follower_fetch_state(9, 0, now_ms=1)


def test_a_follower_neither_appends_nor_tracks_replicas(tmp_path: Path) -> None:
    p = partition(tmp_path, [0, 1], [0, 1])
    assert p.make_follower(1, 2, [0, 1]) is True
    assert p.role == "follower" and not p.is_leader() and p.isr == [] and p.remote == {}
    with pytest.raises(NotLeaderOrFollower):
        p.append_as_leader(records(b"a"), required_acks=1)
    with pytest.raises(NotLeaderOrFollower):
        p.update_follower_fetch_state(1, 0)
    assert p.check_enough_replicas_reach_offset(0)[0] is False
    assert p.make_leader(3, isr=[0], replicas=[0, 1]) is True
    assert p.role == "leader" and p.leader_epoch == 3
    p.append_as_leader(records(b"a"), required_acks=-1)
    assert p.high_watermark == 1


def test_acks_all_checks_the_isr_before_and_after_the_append(tmp_path: Path) -> None:
    p = partition(tmp_path, [0, 1], [0, 1], min_isr=2)
    info = p.append_as_leader(records(b"a"), required_acks=-1)
    required = info.last_offset + 1
    assert p.check_enough_replicas_reach_offset(required) == (False, None)
    p.update_follower_fetch_state(1, 1, now_ms=1)
    assert p.check_enough_replicas_reach_offset(required) == (True, None)
    p.append_as_leader(records(b"b"), required_acks=-1)
    p.maybe_shrink_isr(LAG_MS, now_ms=10**12)
    done, error = p.check_enough_replicas_reach_offset(2)
    assert done and isinstance(error, NotEnoughReplicasAfterAppend)
    with pytest.raises(NotEnoughReplicas):
        p.append_as_leader(records(b"c"), required_acks=-1)


class Proposals:
    """Where a cluster-mode leader's ISR proposals go (the AlterPartition manager's place): recorded here
    so the test plays the controller's answers."""

    def __init__(self, alive: set[int]) -> None:
        self.alive = alive
        self.sent: list[PendingIsrChange] = []

    def submit(self, partition: Partition, change: PendingIsrChange) -> None:
        self.sent.append(change)

    def is_eligible(self, broker_id: int) -> bool:
        return broker_id in self.alive


def proposing(
    tmp_path: Path, isr: list[int], min_isr: int = 1, alive: set[int] | None = None
) -> tuple[Partition, Proposals]:
    p = partition(tmp_path, [0, 1, 2], isr, min_isr)
    proposals = Proposals({0, 1, 2} if alive is None else alive)
    p.alter_isr = proposals
    p.make_leader(1, isr=isr, replicas=[0, 1, 2], now_ms=0, partition_epoch=4)
    return p, proposals


def test_an_expansion_is_proposed_and_counts_for_the_high_watermark_until_committed(tmp_path: Path) -> None:
    p, proposals = proposing(tmp_path, [0, 1], min_isr=3)
    p.append_as_leader(records(b"a", b"b"), required_acks=1)
    p.update_follower_fetch_state(1, 2, now_ms=1)
    assert p.high_watermark == 2
    p.update_follower_fetch_state(2, 2, now_ms=1)  # caught up: proposed, not applied
    [change] = proposals.sent
    assert change.isr == [0, 1, 2] and change.partition_epoch == 4 and change.leader_epoch == 1
    assert p.isr == [0, 1] and p.maximal_isr == [0, 1, 2] and p.pending is change
    with pytest.raises(NotEnoughReplicas):  # min.insync.replicas checks the committed ISR
        p.append_as_leader(records(b"c"), required_acks=-1)
    p.append_as_leader(records(b"c"), required_acks=1)
    p.update_follower_fetch_state(1, 3, now_ms=2)
    assert p.high_watermark == 2  # the pending member (at 2) holds the HW back
    assert p.maybe_shrink_isr(LAG_MS, now_ms=10**12) == []  # nothing else while one is in flight
    assert len(proposals.sent) == 1
    p.commit_isr_change(change, leader_epoch=1, isr=[0, 1, 2], partition_epoch=5)
    assert p.isr == [0, 1, 2] and p.partition_epoch == 5
    assert p.pending is None


def test_a_shrink_is_proposed_and_the_high_watermark_waits_for_the_controller(tmp_path: Path) -> None:
    p, proposals = proposing(tmp_path, [0, 1, 2], min_isr=2)
    p.append_as_leader(records(b"a"), required_acks=1)
    p.update_follower_fetch_state(1, 1, now_ms=10)
    assert p.maybe_shrink_isr(LAG_MS, now_ms=LAG_MS + 11) == [2]
    [change] = proposals.sent
    assert change.isr == [0, 1] and p.isr == [0, 1, 2]
    assert p.high_watermark == 0  # the leaving follower still counts: the shrink may not be committed
    assert p.check_enough_replicas_reach_offset(1) == (False, None)
    assert p.commit_isr_change(change, leader_epoch=1, isr=[0, 1], partition_epoch=5) is True
    assert p.isr == [0, 1] and p.high_watermark == 1


def test_answers_to_an_outdated_proposal_are_ignored_and_refusals_reset_it(tmp_path: Path) -> None:
    p, proposals = proposing(tmp_path, [0, 1], alive={0, 1})
    p.update_follower_fetch_state(2, 0, now_ms=1)
    assert proposals.sent == []  # broker 2 is not alive: it may not join
    p.maybe_shrink_isr(LAG_MS, now_ms=10**12)
    [old] = proposals.sent
    p.make_leader(2, isr=[0, 1], replicas=[0, 1, 2], now_ms=0, partition_epoch=6)  # LeaderAndIsr meanwhile
    assert p.pending is None
    assert p.commit_isr_change(old, leader_epoch=1, isr=[0], partition_epoch=5) is False
    assert p.isr == [0, 1] and p.partition_epoch == 6
    p.maybe_shrink_isr(LAG_MS, now_ms=10**12)
    [_, new] = proposals.sent
    p.commit_isr_change(new, leader_epoch=1, isr=[0], partition_epoch=7)  # an older leader epoch: ignored
    assert p.isr == [0, 1] and p.pending is new
    p.abandon_isr_change(new)  # INELIGIBLE_REPLICA: back to the committed ISR, free to propose again
    assert p.pending is None and p.maybe_shrink_isr(LAG_MS, now_ms=10**12) == [1]

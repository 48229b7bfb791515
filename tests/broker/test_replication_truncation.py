"""Follower truncation by leader epoch (KIP-101, KIP-279), on real logs: the decision
(``broker.replication.truncation``) and a leader and a follower whose histories diverged, brought back
to byte-identical copies the way a replica fetcher does it (ask the leader about the follower's latest
epoch, truncate, fetch, append as follower)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from broker.partition import NotLeaderOrFollower, Partition
from broker.replication.truncation import Truncation, truncation_offset
from kafkish.testing.replicas import replica_differences
from storage.config import LogConfig
from storage.manager import LogManager
from tests.broker.inprocess import records


def _local(entries: dict[int, int], log_end: int) -> Callable[[int], tuple[int, int]]:
    """A follower's epoch lookup: ``entries`` epoch -> start offset (as its leader-epoch cache)."""

    def lookup(epoch: int) -> tuple[int, int]:
        known = sorted(entries.items())
        older = [(e, o) for e, o in known if e <= epoch]
        if not older:
            return (-1, -1) if not known else (epoch, known[0][1])
        e = older[-1][0]
        later = [o for k, o in known if k > e]
        return e, later[0] if later else log_end

    return lookup


@pytest.mark.parametrize(
    ("leader_epoch", "leader_end", "entries", "log_end", "hw", "expected"),
    [
        (1, 3, {1: 0, 2: 3}, 5, 3, Truncation(3, True)),  # the follower's epoch 2 never reached the leader
        (2, 9, {1: 0, 2: 3}, 5, 3, Truncation(5, True)),  # the leader has all of it and more
        (2, 4, {1: 0, 2: 3}, 5, 3, Truncation(4, True)),  # the leader's epoch 2 ended earlier
        (2, 7, {1: 0, 3: 5}, 8, 5, Truncation(5, False)),  # epoch 2 unknown here: cut to epoch 1's end, ask again
        (-1, -1, {4: 0}, 8, 6, Truncation(6, True)),  # the leader knows no epoch up to ours: the HW
        (1, 2, {}, 8, 6, Truncation(2, True)),  # no epochs kept here: the leader's offset
    ],
)
def test_truncation_offset(
    leader_epoch: int, leader_end: int, entries: dict[int, int], log_end: int, hw: int, expected: Truncation
) -> None:
    assert truncation_offset(leader_epoch, leader_end, log_end, hw, _local(entries, log_end)) == expected


def _replica(tmp_path: Path, broker: int) -> Partition:
    manager = LogManager([str(tmp_path / f"broker-{broker}")])
    manager.startup()
    log = manager.get_or_create_log("t", 0, LogConfig())
    return Partition("t", 0, b"\0" * 16, log, leader_id=broker, leader_epoch=0, replicas=[0, 1], isr=[broker],
                     local_id=broker)  # fmt: skip


def _copy(leader: Partition, follower: Partition) -> None:
    """One fetch: the leader's batches from the follower's log end, appended as follower."""
    data = leader.read(follower.log_end_offset, 1 << 20, leader.log_end_offset).read_bytes()
    if data:
        follower.append_as_follower(data)
    follower.update_follower_offsets(leader.high_watermark, leader.log_start_offset)


def _truncate(leader: Partition, follower: Partition) -> None:
    """What the fetcher does before fetching from a new leader (OffsetForLeaderEpoch, walking back)."""
    while True:
        epoch, end = leader.end_offset_for_epoch(follower.latest_epoch)
        decision = truncation_offset(epoch, end, follower.log_end_offset, follower.high_watermark,
                                     follower.end_offset_for_epoch)  # fmt: skip
        follower.truncate_to(decision.offset)
        if decision.complete:
            return


def test_a_diverged_follower_truncates_by_epoch_and_ends_byte_identical(tmp_path: Path) -> None:
    a, b = _replica(tmp_path, 0), _replica(tmp_path, 1)
    a.make_leader(1, isr=[0, 1], replicas=[0, 1])
    b.make_follower(0, 1, [0, 1])
    a.append_as_leader(records(b"a", b"b", b"c"), required_acks=1)
    _copy(a, b)
    # b leads epoch 2 and takes records a never sees; then a leads epoch 3 and takes others.
    b.make_leader(2, isr=[1], replicas=[0, 1])
    b.append_as_leader(records(b"x", b"y"), required_acks=1)
    a.make_follower(1, 2, [0, 1])
    a.make_leader(3, isr=[0], replicas=[0, 1])
    a.append_as_leader(records(b"d"), required_acks=1)
    a.append_as_leader(records(b"e", b"f", b"g"), required_acks=1)
    b.make_follower(0, 3, [0, 1])
    with pytest.raises(NotLeaderOrFollower):
        a.append_as_follower(b"")
    _truncate(a, b)
    assert b.log_end_offset == 3  # epoch 2 (x, y) is gone: it was never on the leader
    _copy(a, b)
    assert (b.log_end_offset, b.latest_epoch) == (7, 3)
    assert not replica_differences([a.log.directory, b.log.directory], a.log_end_offset)
    assert b.high_watermark == min(a.high_watermark, b.log_end_offset)


def test_an_epoch_begun_without_appends_goes_when_the_follower_truncates_at_its_end(tmp_path: Path) -> None:
    a = _replica(tmp_path, 0)
    a.make_leader(1, isr=[0], replicas=[0, 1])
    a.append_as_leader(records(b"a"), required_acks=1)
    a.log.epoch_cache.assign(2, a.log_end_offset)  # led epoch 2 (ReplicaManager.make_leader) but took nothing
    assert a.latest_epoch == 2
    a.make_follower(1, 3, [0, 1])
    assert a.truncate_to(a.log_end_offset) is False
    assert a.latest_epoch == 1


def test_a_follower_starting_at_a_log_start_inside_a_batch_takes_the_whole_batch(tmp_path: Path) -> None:
    a, b = _replica(tmp_path, 0), _replica(tmp_path, 1)
    a.make_leader(1, isr=[0], replicas=[0, 1])
    b.make_follower(0, 1, [0, 1])
    a.append_as_leader(records(*(f"r{i}".encode() for i in range(10))), required_acks=1)
    a.append_as_leader(records(b"s"), required_acks=1)
    assert a.delete_records_on_leader(5) == 5  # the log start is now inside the first batch
    b.truncate_fully_and_start_at(a.log_start_offset)  # what an OFFSET_OUT_OF_RANGE reset does
    _copy(a, b)
    assert (b.log_start_offset, b.log_end_offset) == (5, 11)
    assert not replica_differences([a.log.directory, b.log.directory], a.log_end_offset)

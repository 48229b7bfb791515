"""Leader balance's pure parts: election plans, the imbalance rule, the admin znode's JSON (no ZooKeeper)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from broker.controller.errors import ControllerError
from broker.controller.zk.leader_balance import (
    Replicas,
    decode_preferred_replica_election,
    encode_preferred_replica_election,
    imbalanced_partitions,
    plan_election,
)
from broker.controller.zk.znodes import PartitionState
from protocol.errors import ErrorCode


def led(leader: int, isr: tuple[int, ...], replicas: tuple[int, ...], epoch: int = 3) -> Replicas:
    return Replicas(replicas, PartitionState(leader, epoch, isr, 1))


def codes(errors: Mapping[tuple[str, int], ControllerError]) -> dict[tuple[str, int], ErrorCode]:
    return {key: ErrorCode(error.code) for key, error in errors.items()}


def test_preferred_election_moves_leadership_to_the_first_replica_when_it_is_live_and_in_sync() -> None:
    known = {
        ("t", 0): led(2, (1, 2, 0), (1, 2, 0)),  # preferred 1 in the ISR: elected, ISR kept, epoch bumped
        ("t", 1): led(2, (2, 0, 1), (2, 0, 1)),  # already led by its preferred replica
        ("t", 2): led(2, (2, 0), (1, 2, 0)),  # preferred 1 out of the ISR
        ("t", 3): led(2, (0, 1, 2), (0, 1, 2)),  # preferred 0 in sync but dead
    }
    wanted = [*known, ("t", 9), ("u", 0)]
    elected, errors = plan_election(True, wanted, known, live={1, 2}, controller_epoch=7)
    assert elected == {("t", 0): PartitionState(1, 4, (1, 2, 0), 7)}
    assert codes(errors) == {
        ("t", 1): ErrorCode.ELECTION_NOT_NEEDED,
        ("t", 2): ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
        ("t", 3): ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
        ("t", 9): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ("u", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    }


def test_unclean_election_only_for_partitions_without_a_live_leader() -> None:
    known = {
        ("t", 0): led(2, (2,), (0, 1, 2)),  # a live leader: nothing to do
        ("t", 1): led(-1, (1,), (0, 1, 2)),  # offline; the ISR member 1 is dead: any live replica, alone
        ("t", 2): led(-1, (2, 1), (0, 1, 2)),  # offline, an ISR member lives: it leads with the live ISR
        ("t", 3): led(-1, (1,), (1, 3)),  # no live replica at all
    }
    elected, errors = plan_election(False, list(known), known, live={0, 2}, controller_epoch=7)
    assert elected == {("t", 1): PartitionState(0, 4, (0,), 7), ("t", 2): PartitionState(2, 4, (2,), 7)}
    assert codes(errors) == {
        ("t", 0): ErrorCode.ELECTION_NOT_NEEDED,
        ("t", 3): ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
    }


def test_imbalance_above_the_percentage_elects_back_what_the_preferred_broker_can_lead() -> None:
    known = {
        ("a", 0): led(1, (0, 1), (0, 1)),  # broker 0 prefers 4, leads 2: 50% imbalance
        ("a", 1): led(1, (1,), (0, 1)),  # ... but is not in this one's ISR
        ("a", 2): led(0, (0, 1), (0, 1)),
        ("a", 3): led(0, (0, 1), (0, 1)),
        ("b", 0): led(0, (0, 1), (1, 0)),  # broker 1 prefers 1, leads none: 100%, but broker 1 is dead
    }
    assert imbalanced_partitions(known, live={0}, percentage=10) == [("a", 0)]
    assert imbalanced_partitions(known, live={0}, percentage=50) == []  # 50% is not above 50%
    assert imbalanced_partitions(known, live={0, 1}, percentage=10) == [("a", 0), ("b", 0)]


def test_the_admin_znode_round_trips_and_malformed_data_is_refused() -> None:
    data = encode_preferred_replica_election([("t", 0), ("u", 3)])
    assert data == b'{"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"u","partition":3}]}'
    assert decode_preferred_replica_election("/p", data) == [("t", 0), ("u", 3)]
    for bad in (b"", b"[]", b'{"partitions":{}}', b'{"partitions":[1]}', b'{"partitions":[{"topic":"t"}]}',
                b'{"partitions":[{"topic":"t","partition":true}]}', b"\xff"):  # fmt: skip
        with pytest.raises(ValueError):
            decode_preferred_replica_election("/p", bad)

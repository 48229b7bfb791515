"""Controller election over a real ZooKeeper: one winner, epochs that only grow, resignation on a lost
session, and a /controller nobody can read handled without a crash."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from kazoo.exceptions import BadVersionError

from broker.controller.zk import paths
from broker.controller.zk.client import ZkClient
from broker.controller.zk.election import ControllerEpoch, ControllerMoved, ZkControllerElection, fenced_multi
from broker.controller.zk.znodes import PartitionState, encode_partition_state
from tests.cluster.support import SESSION_MS, expire_session, until


def run(test: Callable[[], Awaitable[None]], timeout_s: float = 60) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout_s))


@dataclass
class Contender:
    zk: ZkClient
    broker_id: int
    elected: list[ControllerEpoch] = field(default_factory=list)
    resigned: int = 0
    election: ZkControllerElection = field(init=False)

    def __post_init__(self) -> None:
        self.election = ZkControllerElection(
            self.zk, self.broker_id, on_elected=self.elected.append, on_resigned=self._resigned
        )

    def _resigned(self) -> None:
        self.resigned += 1


@asynccontextmanager
async def contenders(connect: str, broker_ids: list[int]) -> AsyncIterator[list[Contender]]:
    """Brokers with sessions of their own, all running for controller at once."""
    result: list[Contender] = []
    try:
        for broker_id in broker_ids:
            zk = ZkClient(connect, SESSION_MS)
            await zk.start()
            result.append(Contender(zk, broker_id))
        await asyncio.gather(*(c.election.start() for c in result))
        yield result
    finally:
        for c in result:
            await c.election.close()
            await c.zk.close()


def controllers(cs: list[Contender]) -> list[int]:
    return [c.election.broker_id for c in cs if c.election.is_controller]


def test_one_controller_among_three(zk_connect: str) -> None:
    async def test() -> None:
        async with contenders(zk_connect, [0, 1, 2]) as cs:
            await until(lambda: len(controllers(cs)) == 1, what="a controller")
            winner = next(c for c in cs if c.election.is_controller)
            assert winner.elected == [ControllerEpoch(1, 1)]  # /controller_epoch created with 0, set once
            await until(lambda: all(c.election.active_controller_id == winner.election.broker_id for c in cs))
            data, stat = await cs[0].zk.get(paths.CONTROLLER)
            assert stat.ephemeralOwner == winner.zk.session_id
            value = json.loads(data or b"")
            assert list(value) == ["version", "brokerid", "timestamp"]
            assert (value["version"], value["brokerid"]) == (1, winner.election.broker_id)
            epoch, epoch_stat = await cs[0].zk.get(paths.CONTROLLER_EPOCH)
            assert (epoch, epoch_stat.version) == (b"1", 1)
            assert all(not c.elected for c in cs if c is not winner)

    run(test)


def test_controller_session_expiry_elects_another_with_a_higher_epoch(zk_connect: str) -> None:
    async def test() -> None:
        async with contenders(zk_connect, [0, 1, 2]) as cs:
            await until(lambda: len(controllers(cs)) == 1, what="a controller")
            first = next(c for c in cs if c.election.is_controller)
            await expire_session(first.zk)
            await until(lambda: first.resigned == 1, what="the old controller resigning")
            await until(
                lambda: len(controllers(cs)) == 1 and not first.election.is_controller, what="another controller"
            )
            second = next(c for c in cs if c.election.is_controller)
            assert second.elected == [ControllerEpoch(2, 2)]
            # the old controller is back in a new session, as a follower that knows the new controller
            await until(lambda: first.election.active_controller_id == second.election.broker_id)
            assert first.elected == [ControllerEpoch(1, 1)] and not first.election.is_controller
            data, _ = await first.zk.get(paths.CONTROLLER_EPOCH)
            assert data == b"2"

            await second.election.close()  # a clean stop: its session ends, its /controller goes at once
            await second.zk.close()
            cs.remove(second)
            await until(lambda: len(controllers(cs)) == 1, what="a third controller")
            third = next(c for c in cs if c.election.is_controller)
            assert third.elected[-1].epoch == 3

    run(test)


def test_unreadable_controller_znode_is_logged_not_fatal(zk_connect: str, caplog: pytest.LogCaptureFixture) -> None:
    async def test() -> None:
        setup = ZkClient(zk_connect, SESSION_MS)
        await setup.start()
        try:
            await setup.create(paths.CONTROLLER, b"not json at all")  # persistent: a stray tool wrote it
            async with contenders(zk_connect, [0, 1]) as cs:
                await asyncio.sleep(0.3)
                assert controllers(cs) == [] and all(c.election.active_controller_id == -1 for c in cs)
                assert "malformed znode /controller: not JSON" in caplog.text
                await setup.delete(paths.CONTROLLER)  # the operator removes it: an election follows
                await until(lambda: len(controllers(cs)) == 1, what="a controller after the bad znode went")
        finally:
            await setup.close()

    with caplog.at_level(logging.ERROR, logger="broker.controller.zk.election"):
        run(test)


def test_a_deposed_controller_writes_nothing(zk_connect: str) -> None:
    """Every controller write checks /controller_epoch's version in the same transaction."""
    state_path = paths.partition_state_path("t", 0)

    def write_state(leader: int, version: int = -1) -> Callable[[Any], object]:
        data = encode_partition_state(PartitionState(leader, 0, (leader,), 1))
        return lambda t: t.set_data(state_path, data, version)

    async def test() -> None:
        async with contenders(zk_connect, [0, 1]) as cs:
            await until(lambda: len(controllers(cs)) == 1, what="a controller")
            old = next(c for c in cs if c.election.is_controller)
            old_epoch = old.elected[0]
            await old.zk.ensure_path(state_path)
            [stat] = await old.election.fenced_multi(write_state(old.broker_id))
            assert stat.version == 1

            await expire_session(old.zk)
            await until(lambda: len(controllers(cs)) == 1 and not old.election.is_controller, what="a new controller")
            new = next(c for c in cs if c.election.is_controller)
            with pytest.raises(ControllerMoved, match="Expected zkVersion = 1"):
                await fenced_multi(old.zk, old_epoch, write_state(old.broker_id))  # as if it had not noticed
            with pytest.raises(ControllerMoved, match="is not the controller"):
                await old.election.fenced_multi(write_state(old.broker_id))
            _, stat = await new.zk.get(state_path)
            assert stat.version == 1  # untouched by the deposed controller

            await new.election.fenced_multi(write_state(new.broker_id, version=1))
            with pytest.raises(BadVersionError):  # the caller's own condition failing is not ControllerMoved
                await new.election.fenced_multi(write_state(new.broker_id, version=1))

    run(test)

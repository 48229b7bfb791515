"""The three parts a cluster-mode broker runs on its one ZooKeeper session, together, as the next step
will wire them: registration, the live-broker watch and the controller election."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from broker.controller.zk.client import ZkClient
from broker.controller.zk.election import ControllerEpoch, ZkControllerElection
from broker.controller.zk.live_brokers import BrokerChange, ZkLiveBrokers
from broker.controller.zk.registration import (
    ZkBrokerRegistration,
    check_cluster_id,
    create_top_level_paths,
    get_or_create_cluster_id,
)
from tests.cluster.support import SESSION_MS, expire_session, registration, until


def run(test: Callable[[], Awaitable[None]], timeout_s: float = 60) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout_s))


@dataclass
class Broker:
    broker_id: int
    zk: ZkClient
    cluster_id: str = ""
    registration: ZkBrokerRegistration | None = None
    live: ZkLiveBrokers | None = None
    election: ZkControllerElection | None = None
    elected: list[ControllerEpoch] = field(default_factory=list)
    changes: list[BrokerChange] = field(default_factory=list)
    resignations: int = 0

    async def start(self) -> None:
        """Kafka's start-up order: session, paths, cluster id, registration, then the controller's parts."""
        await self.zk.start()
        await create_top_level_paths(self.zk)
        self.cluster_id = await get_or_create_cluster_id(self.zk, f"cluster-of-{self.broker_id}")
        check_cluster_id(self.cluster_id, None)
        self.registration = ZkBrokerRegistration(self.zk, registration(self.broker_id))
        await self.registration.register()
        self.live = ZkLiveBrokers(self.zk, on_change=self.changes.append)
        await self.live.start()
        self.election = ZkControllerElection(
            self.zk, self.broker_id, on_elected=self.elected.append, on_resigned=self._resigned
        )
        await self.election.start()

    def _resigned(self) -> None:
        self.resignations += 1

    @property
    def is_controller(self) -> bool:
        return self.election is not None and self.election.is_controller

    def sees(self, broker_id: int, broker_epoch: int) -> bool:
        live = self.live.live if self.live is not None else {}
        return broker_id in live and live[broker_id].broker_epoch == broker_epoch

    def live_ids(self) -> set[int]:
        return set(self.live.live) if self.live is not None else set()

    async def stop(self) -> None:
        for part in (self.election, self.live, self.registration):
            if part is not None:
                await part.close()
        await self.zk.close()


def test_three_brokers_then_the_controller_loses_its_session(zk_connect: str) -> None:
    async def test() -> None:
        brokers = [Broker(i, ZkClient(zk_connect, SESSION_MS)) for i in range(3)]
        try:
            await asyncio.gather(*(b.start() for b in brokers))
            assert len({b.cluster_id for b in brokers}) == 1  # the first broker's proposal, for all
            await until(lambda: all(b.live_ids() == {0, 1, 2} for b in brokers), what="everyone seeing everyone")
            await until(lambda: sum(b.is_controller for b in brokers) == 1, what="one controller")
            old = next(b for b in brokers if b.is_controller)
            assert old.registration is not None
            old_epoch = old.registration.broker_epoch

            await expire_session(old.zk)
            await until(lambda: old.resignations == 1, what="the controller resigning")
            await until(
                lambda: sum(b.is_controller for b in brokers) == 1 and not old.is_controller, what="a new controller"
            )
            new = next(b for b in brokers if b.is_controller)
            assert new.elected == [ControllerEpoch(2, 2)]
            await until(lambda: old.registration is not None and old.registration.broker_epoch > old_epoch)
            new_epoch = old.registration.broker_epoch
            # everyone, the old controller included, sees the old controller registered again, newer
            await until(lambda: all(b.sees(old.broker_id, new_epoch) for b in brokers), what="the new registration")
            watcher = next(b for b in brokers if b is not old)
            assert any(old.broker_id in c.died or old.broker_id in c.bounced for c in watcher.changes)
            assert all(b.election is not None and b.election.active_controller_id == new.broker_id for b in brokers)
        finally:
            for b in brokers:
                await b.stop()

    run(test)

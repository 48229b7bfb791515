"""The live-broker watch over a real ZooKeeper: brokers in processes of their own join, one is killed
(SIGKILL: its session ends only when ZooKeeper times it out) and the watch reports its death."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator

import pytest

from broker.controller.zk import paths
from broker.controller.zk.client import ZkClient
from broker.controller.zk.live_brokers import BrokerChange, ZkLiveBrokers
from broker.controller.zk.registration import ZkBrokerRegistration
from broker.controller.zk.znodes import encode_broker_registration
from tests.cluster.support import SESSION_MS, expire_session, registration, until
from tests.harness import ROOT

KILLED_SESSION_MS = 1500  # the killed broker's session: its death shows after this


def run(test: Callable[[], Awaitable[None]], timeout_s: float = 60) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout_s))


@pytest.fixture
def registrants() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for p in processes:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def start_registrant(connect: str, broker_id: int, processes: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.cluster.registrant", connect, str(broker_id), str(KILLED_SESSION_MS)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    processes.append(process)
    return process


def test_the_watch_sees_brokers_join_and_die(zk_connect: str, registrants: list[subprocess.Popen[str]]) -> None:
    async def test() -> None:
        zk = ZkClient(zk_connect, SESSION_MS)
        await zk.start()
        changes: list[BrokerChange] = []
        live = ZkLiveBrokers(zk, on_change=changes.append)
        try:
            await live.start()
            assert live.live == {} and changes == []
            for broker_id in (1, 2):
                start_registrant(zk_connect, broker_id, registrants)
            await until(lambda: set(live.live) == {1, 2}, what="two brokers joining")
            assert set().union(*(c.joined for c in changes)) == {1, 2}
            _, stat = await zk.get(paths.broker_id_path(1))
            assert live.live[1].broker_epoch == stat.czxid
            assert live.live[2].registration.endpoints[0].port == 9094

            changes.clear()
            registrants[0].kill()  # broker 1 dies without closing its session
            await until(lambda: set(live.live) == {2}, timeout_s=30, what="broker 1's death")
            assert [c.died for c in changes] == [frozenset({1})]
        finally:
            await live.close()
            await zk.close()

    run(test)


def test_a_paused_broker_loses_its_session_and_registers_again(
    zk_connect: str, registrants: list[subprocess.Popen[str]]
) -> None:
    """SIGSTOP longer than the session (a long GC pause, a frozen VM): ZooKeeper expires the session and
    deletes the registration; on waking, the broker sees the expiry and registers in a new session."""

    async def test() -> None:
        zk = ZkClient(zk_connect, SESSION_MS)
        await zk.start()
        live = ZkLiveBrokers(zk)
        try:
            await live.start()
            process = start_registrant(zk_connect, 5, registrants)
            assert process.stdout is not None
            first_epoch = int((await asyncio.to_thread(process.stdout.readline)).split()[1])
            await until(lambda: 5 in live.live, what="broker 5")
            process.send_signal(signal.SIGSTOP)
            await until(lambda: 5 not in live.live, timeout_s=30, what="broker 5's session to expire")
            process.send_signal(signal.SIGCONT)
            second_epoch = int((await asyncio.to_thread(process.stdout.readline)).split()[1])
            assert second_epoch > first_epoch
            await until(lambda: getattr(live.live.get(5), "broker_epoch", 0) == second_epoch, what="broker 5 back")
        finally:
            await live.close()
            await zk.close()

    run(test)


def test_changes_iterator_reports_a_bounce_and_skips_bad_registrations(zk_connect: str) -> None:
    async def test() -> None:
        zk, broker = ZkClient(zk_connect, SESSION_MS), ZkClient(zk_connect, SESSION_MS)
        await zk.start()
        await broker.start()
        live = ZkLiveBrokers(zk)
        seen: list[BrokerChange] = []

        async def follow() -> None:
            async for change in live.changes():
                seen.append(change)

        follower = asyncio.create_task(follow())
        try:
            await live.start()
            await asyncio.sleep(0)
            reg = ZkBrokerRegistration(broker, registration(3))
            await reg.register()
            await until(lambda: 3 in live.live, what="broker 3")
            first_epoch = live.live[3].broker_epoch
            await zk.create(paths.broker_id_path(9), b'{"version":4,"endpoints":"oops"}', ephemeral=True)
            await expire_session(broker)  # broker 3 registers again in a new session: a new epoch
            await until(lambda: getattr(live.live.get(3), "broker_epoch", 0) > first_epoch, what="broker 3 again")
            assert 9 not in live.live  # logged and left out
            assert any(3 in c.joined for c in seen)
            assert any(3 in c.died for c in seen) or any(3 in c.bounced for c in seen)
            await reg.close()
        finally:
            follower.cancel()
            await live.close()
            await broker.close()
            await zk.close()

    run(test)


def test_registration_data_changed_in_place_is_an_update(zk_connect: str) -> None:
    """A broker rewriting its registration (Kafka does on a dynamic listener change) keeps its epoch;
    unreadable new data keeps the last good registration; a bad newcomer joins once its data is fixed."""

    async def test() -> None:
        zk, broker = ZkClient(zk_connect, SESSION_MS), ZkClient(zk_connect, SESSION_MS)
        await zk.start()
        await broker.start()
        changes: list[BrokerChange] = []
        live = ZkLiveBrokers(zk, on_change=changes.append)
        try:
            await ZkBrokerRegistration(broker, registration(4)).register()
            await broker.create(paths.broker_id_path(6), b"garbage", ephemeral=True)
            await live.start()
            assert set(live.live) == {4}
            epoch = live.live[4].broker_epoch
            changes.clear()

            moved = encode_broker_registration(registration(4, port=19092)())
            await broker.set(paths.broker_id_path(4), moved)
            await until(lambda: bool(changes), what="the update")
            assert [set(c.updated) for c in changes] == [{4}]
            assert live.live[4].broker_epoch == epoch and live.live[4].registration.endpoints[0].port == 19096

            await broker.set(paths.broker_id_path(4), b'{"version":4}')  # unreadable: keep what we had
            await broker.set(paths.broker_id_path(6), encode_broker_registration(registration(6)()))
            await until(lambda: 6 in live.live, what="broker 6 with readable data")
            assert live.live[4].registration.endpoints[0].port == 19096
            assert not any(4 in c.died for c in changes)
        finally:
            await live.close()
            await broker.close()
            await zk.close()

    run(test)

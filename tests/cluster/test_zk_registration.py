"""A broker joins ZooKeeper as Kafka's do: chroot, top-level paths, cluster id, broker id, registration.

Real ZooKeeper server, real kazoo sessions; a second raw kazoo client reads what we wrote.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from kazoo.client import KazooClient

from broker.config import BrokerConfig
from broker.controller.zk import paths
from broker.controller.zk.client import ZkClient, ZkConnectionTimeout, ZkSessionState, zk_client_for
from broker.controller.zk.registration import (
    BrokerIdInUse,
    InconsistentBrokerId,
    InconsistentClusterId,
    ZkBrokerRegistration,
    check_cluster_id,
    create_top_level_paths,
    get_or_create_cluster_id,
    resolve_broker_id,
)
from broker.controller.zk.znodes import decode_broker_registration
from tests.cluster.support import SESSION_MS, expire_session, registration, until
from tests.harness import free_port
from tests.zookeeper import ZooKeeperServer

# The keys of /brokers/ids/<id>, in the order Kafka 2.4.1 writes them
KAFKA_REGISTRATION_KEYS = [
    "listener_security_protocol_map",
    "endpoints",
    "jmx_port",
    "host",
    "timestamp",
    "port",
    "version",
]


def run(test: Callable[[], Awaitable[None]], timeout_s: float = 60) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout_s))


def raw(connect: str) -> KazooClient:
    client = KazooClient(hosts=connect)
    client.start(timeout=15)
    return client


def test_chroot_is_created_and_everything_lives_below_it(zookeeper: ZooKeeperServer) -> None:
    async def test() -> None:
        zk = ZkClient(f"{zookeeper.connect}/kafka/east", session_timeout_ms=SESSION_MS)
        await zk.start()
        try:
            await create_top_level_paths(zk)
            await ZkBrokerRegistration(zk, registration(3)).register()
        finally:
            await zk.close()

    root = raw(zookeeper.connect)
    try:
        root.delete("/kafka", recursive=True) if root.exists("/kafka") else None
        run(test)
        assert set(root.get_children("/kafka/east")) >= {"brokers", "config", "admin", "isr_change_notification",
                                                          "latest_producer_id_block", "consumers"}  # fmt: skip
        assert set(root.get_children("/kafka/east/config")) == {"changes", "topics", "clients", "users", "brokers"}
        assert root.exists("/brokers/ids/3") is None  # nothing outside the chroot
        assert root.get_children("/kafka/east/brokers/ids") == []  # the session closed: its ephemeral went
    finally:
        root.stop()
        root.close()


def test_the_client_takes_kafkas_configs(zk_connect: str) -> None:
    config = BrokerConfig.from_properties({"zookeeper.connect": zk_connect, "zookeeper.session.timeout.ms": "6000"})
    zk = zk_client_for(config)
    assert (zk.session_timeout_ms, zk.connection_timeout_ms) == (6000, 6000)  # connection: the session's default

    async def test() -> None:
        await zk.start()
        try:
            assert zk.kazoo.chroot == zk_connect[zk_connect.index("/") :]
            assert 1000 <= zk.kazoo._session_timeout <= 6000  # negotiated with the server
        finally:
            await zk.close()

    run(test)
    with pytest.raises(ValueError, match=r"zookeeper\.connect is not set"):
        zk_client_for(BrokerConfig.from_properties({}))


def test_connection_timeout_names_the_state() -> None:
    async def test() -> None:
        zk = ZkClient(f"127.0.0.1:{free_port()}", session_timeout_ms=SESSION_MS, connection_timeout_ms=700)
        with pytest.raises(ZkConnectionTimeout, match=r"Timed out waiting for connection .* CONNECTING"):
            await zk.start()

    run(test)


def test_registration_znode_is_kafkas(zk_connect: str) -> None:
    async def test() -> None:
        zk = ZkClient(zk_connect, session_timeout_ms=SESSION_MS)
        await zk.start()
        try:
            epoch = await ZkBrokerRegistration(zk, registration(1, port=29392)).register()
            data, stat = await zk.get("/brokers/ids/1")
            assert stat.ephemeralOwner == zk.session_id
            assert epoch == stat.czxid  # the broker epoch
            assert stat.version == 1  # created and set in one transaction, as Kafka does
            assert data is not None
            value = json.loads(data)
            assert list(value) == KAFKA_REGISTRATION_KEYS
            assert value["endpoints"] == ["PLAINTEXT://127.0.0.1:29393"]
            assert value["listener_security_protocol_map"] == {"PLAINTEXT": "PLAINTEXT"}
            assert (value["host"], value["port"], value["version"], value["jmx_port"]) == ("127.0.0.1", 29393, 4, -1)
            assert value["timestamp"].isdigit()
            assert decode_broker_registration(1, data).broker_id == 1
        finally:
            await zk.close()

    run(test)


def test_a_second_broker_with_the_same_id_is_refused(zk_connect: str) -> None:
    async def test() -> None:
        first, second = ZkClient(zk_connect, SESSION_MS), ZkClient(zk_connect, SESSION_MS)
        await first.start()
        await second.start()
        try:
            await ZkBrokerRegistration(first, registration(1)).register()
            with pytest.raises(BrokerIdInUse) as refused:
                await ZkBrokerRegistration(second, registration(1)).register()
            assert str(refused.value) == (
                "Error while creating ephemeral at /brokers/ids/1, node already exists and owner "
                f"'{first.session_id}' does not match current session '{second.session_id}'"
            )
            _, stat = await second.get("/brokers/ids/1")
            assert stat.ephemeralOwner == first.session_id  # untouched
            await first.close()
            await ZkBrokerRegistration(second, registration(1)).register()  # free again once the owner left
        finally:
            await first.close()
            await second.close()

    run(test)


def test_broker_id_generation_and_the_checks_against_meta_properties(zk_connect: str) -> None:
    async def test() -> None:
        zk = ZkClient(zk_connect, SESSION_MS)
        await zk.start()
        try:
            assert await resolve_broker_id(zk, -1, None, True, 1000) == 1001  # /brokers/seqid version 1
            assert await resolve_broker_id(zk, -1, None, True, 1000) == 1002
            assert await resolve_broker_id(zk, -1, 1001, True, 1000) == 1001  # meta.properties wins
            assert await resolve_broker_id(zk, 5, None, True, 1000) == 5
            assert await resolve_broker_id(zk, 5, 5, False, 1000) == 5
            with pytest.raises(InconsistentBrokerId, match=r"Configured broker.id 5 doesn't match stored broker.id"):
                await resolve_broker_id(zk, 5, 6, True, 1000)
            with pytest.raises(InconsistentBrokerId, match=r"broker.id.generation.enable is false"):
                await resolve_broker_id(zk, -1, None, False, 1000)
            _, stat = await zk.get(paths.BROKER_SEQUENCE_ID)
            assert stat.version == 2
        finally:
            await zk.close()

    run(test)


def test_cluster_id_is_created_once_and_checked(zk_connect: str) -> None:
    async def test() -> None:
        first, second = ZkClient(zk_connect, SESSION_MS), ZkClient(zk_connect, SESSION_MS)
        await first.start()
        await second.start()
        try:
            assert await get_or_create_cluster_id(first, "avdso6zMRBKnXSUSQfj0tg") == "avdso6zMRBKnXSUSQfj0tg"
            assert await get_or_create_cluster_id(second, "some-other-proposal") == "avdso6zMRBKnXSUSQfj0tg"
            data, _ = await second.get("/cluster/id")
            assert data == b'{"version":"1","id":"avdso6zMRBKnXSUSQfj0tg"}'
        finally:
            await first.close()
            await second.close()
        check_cluster_id("avdso6zMRBKnXSUSQfj0tg", None)
        check_cluster_id("avdso6zMRBKnXSUSQfj0tg", "avdso6zMRBKnXSUSQfj0tg")
        with pytest.raises(InconsistentClusterId) as wrong:
            check_cluster_id("avdso6zMRBKnXSUSQfj0tg", "OkOjGPrdRimp8nkFohYkCw")
        assert str(wrong.value) == (
            "The Cluster ID avdso6zMRBKnXSUSQfj0tg doesn't match stored clusterId Some(OkOjGPrdRimp8nkFohYkCw) in "
            "meta.properties. The broker is trying to join the wrong cluster. "
            "Configured zookeeper.connect may be wrong."
        )

    run(test)


def test_registration_comes_back_in_a_new_session_with_a_new_epoch(zk_connect: str) -> None:
    async def test() -> None:
        zk, watcher = ZkClient(zk_connect, SESSION_MS), ZkClient(zk_connect, SESSION_MS)
        await zk.start()
        await watcher.start()
        states: list[ZkSessionState] = []
        zk.add_state_listener(states.append)
        epochs: list[int] = []
        try:
            reg = ZkBrokerRegistration(zk, registration(2), on_registered=epochs.append)
            first_epoch = await reg.register()
            old_session = zk.session_id
            await expire_session(zk)
            await until(lambda: bool(epochs), what="re-registration")
            assert ZkSessionState.EXPIRED in states and states[-1] is ZkSessionState.CONNECTED
            assert zk.session_id != old_session
            assert epochs == [reg.broker_epoch] and reg.broker_epoch > first_epoch
            _, stat = await watcher.get("/brokers/ids/2")
            assert (stat.ephemeralOwner, stat.czxid) == (zk.session_id, reg.broker_epoch)
            await reg.close()
        finally:
            await zk.close()
            await watcher.close()

    run(test)


def test_a_zookeeper_restart_shorter_than_the_session_keeps_it(own_zookeeper: ZooKeeperServer) -> None:
    async def test() -> None:
        zk = ZkClient(own_zookeeper.connect, session_timeout_ms=10000)
        await zk.start()
        states: list[ZkSessionState] = []
        zk.add_state_listener(states.append)
        try:
            reg = ZkBrokerRegistration(zk, registration(4))
            epoch = await reg.register()
            session = zk.session_id
            await asyncio.to_thread(own_zookeeper.restart)
            await until(lambda: states[-1:] == [ZkSessionState.CONNECTED], what="reconnection")
            assert states == [ZkSessionState.SUSPENDED, ZkSessionState.CONNECTED]
            assert zk.session_id == session and reg.broker_epoch == epoch
            _, stat = await zk.get("/brokers/ids/4")  # the same ephemeral, never re-created
            assert (stat.czxid, stat.ephemeralOwner) == (epoch, session)
        finally:
            await zk.close()

    run(test)

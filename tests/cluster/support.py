"""Helpers for the cluster tests: waiting for conditions, ending a ZooKeeper session from outside."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from kazoo.client import KazooClient

from broker.controller.zk.client import ZkClient
from broker.controller.zk.znodes import BrokerRegistration, EndPoint

SESSION_MS = 4000  # long enough for a loaded machine, short enough to see expiry in a test


async def until(condition: Callable[[], bool], timeout_s: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.02)


def _close_session(hosts: str, session_id: int, password: bytes) -> None:
    other = KazooClient(hosts=hosts, client_id=(session_id, password), timeout=SESSION_MS / 1000)
    other.start(timeout=15)
    try:
        other.stop()  # CloseSession: the server ends the session and deletes its ephemeral znodes
    finally:
        other.close()


async def expire_session(client: ZkClient) -> None:
    """End ``client``'s session from a second connection, as a session timeout would: the client then
    sees its session expire (kazoo's LOST) and opens a new one."""
    await asyncio.to_thread(_close_session, client.hosts_and_chroot.hosts, client.session_id, client.session_password)


def registration(broker_id: int, port: int = 9092, rack: str | None = None) -> Callable[[], BrokerRegistration]:
    def make() -> BrokerRegistration:
        return BrokerRegistration(broker_id, (EndPoint("PLAINTEXT", "127.0.0.1", port + broker_id, "PLAINTEXT"),), rack)

    return make
